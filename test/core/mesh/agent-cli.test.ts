import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshEnv, removeDir, runCli, type Env } from "../../support/process.js";
import { startA2aAgent, startMeshHttpAgent, type Peer } from "./peers.js";

let env: Env;
let dataDir: string;
const peers: Peer[] = [];
let crewUrl = "";
let a2aUrl = "";

beforeAll(async () => {
  const crew = await startMeshHttpAgent();
  const a2a = await startA2aAgent("stream", { streaming: true, name: "Card agent", skills: ["summarization"] });
  peers.push(crew, a2a);
  crewUrl = crew.url;
  a2aUrl = a2a.url;
  ({ env, dataDir } = await freshEnv({ MESHAI_ALLOW_PRIVATE_NETWORK: "true" }));
});
afterAll(async () => {
  await Promise.all(peers.map((p) => p.close()));
  removeDir(dataDir);
});

describe("`meshai agent` manages the registry the RegisterAgent RPC uses (the missing-capability message points here)", () => {
  it("adds, checks, lists and removes an agent, and imports one from an A2A card", async () => {
    const add = await runCli(["agent", "add", "--id", "crew", "--name", "Crew", "--protocol", "meshai_http", "--endpoint", crewUrl, "--capability", "crew_work", "--token-stdin"], { env, input: "agent-secret\n" });
    expect(add.stderr).toBe("");
    expect(add.stdout).toContain("registered agent crew (meshai_http: crew_work)");
    const check = await runCli(["agent", "check", "crew"], { env });
    expect(check.stdout).toContain("crew: healthy");
    const card = await runCli(["agent", "add", "--card-url", `${a2aUrl}/.well-known/agent-card.json`, "--id", "carded"], { env });
    expect(card.stdout).toContain("registered agent carded (a2a: summarization)");
    const list = await runCli(["agent", "list"], { env });
    expect(list.stdout).toMatch(/crew\tmeshai_http\thealthy\tcrew_work/);
    expect(list.stdout).toContain("carded\ta2a");
    expect(list.stdout).not.toContain("agent-secret");
    const rm = await runCli(["agent", "remove", "crew"], { env });
    expect(rm.stdout).toContain("removed agent crew");
    const bad = await runCli(["agent", "add", "--id", "x", "--protocol", "gopher", "--endpoint", crewUrl, "--capability", "a", "--name", "x"], { env });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("agent.protocol: must be one of");
  });
});

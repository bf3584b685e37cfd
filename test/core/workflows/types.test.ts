import type { JsonObject } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentProtocol, MeshService, type TaskEvent, TaskEventType, TaskState } from "../../../gen/meshai/v1/mesh_pb.js";
import { startTestCore, type TestCore } from "../../support/core.js";
import { databaseTargets, type FreshPostgresDatabase, freshPostgresDatabase } from "../../support/postgres.js";
import { type ScriptedAgent, startScriptedAgent } from "./peers.js";

let t: TestCore;
let pg: FreshPostgresDatabase | undefined;
let admin: string;
let alice: string;
let mesh: ReturnType<typeof createClient<typeof MeshService>>;
const agents: Record<string, ScriptedAgent> = {};
const auth = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

async function run(workflowType: string, payload: Record<string, unknown>, requestAgents: string[] = []) {
  const { workflow } = await mesh.submitWorkflow({ workflowType, payload: payload as JsonObject, agents: requestAgents }, auth(alice));
  const events: TaskEvent[] = [];
  for await (const r of mesh.watchTask({ id: workflow!.id, afterSeq: 0n }, auth(alice))) events.push(r.event!);
  return { events, task: (await mesh.getTask({ id: workflow!.id }, auth(alice))).task! };
}

async function rejected(workflowType: string, payload: Record<string, unknown>): Promise<ConnectError> {
  try {
    await mesh.submitWorkflow({ workflowType, payload: payload as JsonObject }, auth(alice));
  } catch (e) {
    return ConnectError.from(e);
  }
  throw new Error("accepted");
}

async function addAgent(id: string, capabilities: string[], behave: ScriptedAgent["behave"]) {
  const a = await startScriptedAgent(behave);
  agents[id] = a;
  await mesh.registerAgent({ agent: { id, name: id, protocol: AgentProtocol.MESHAI_HTTP, endpoint: a.url, capabilities, maxConcurrentTasks: 20 } }, auth(admin));
  return a;
}

for (const target of databaseTargets()) {
describe(`on ${target.name}`, () => {
  beforeAll(async () => {
    pg = target.name === "postgres" ? await freshPostgresDatabase(target.url) : undefined;
    t = await startTestCore({ MESHAI_ALLOW_PRIVATE_NETWORK: "true", MESHAI_HEALTH_CHECK_INTERVAL: "0", ...(pg ? { MESHAI_DATABASE_URL: pg.url } : {}) });
    admin = await t.token("mcp:read mcp:execute mcp:manage");
    alice = await t.token("mcp:read mcp:execute", "alice@example.com");
    mesh = createClient(MeshService, createGrpcTransport({ baseUrl: t.core.url }));
    await addAgent("geo1", ["geography"], () => ({ output: "Paris." }));
    await addAgent("geo2", ["geography"], () => ({ output: "  paris" }));
    await addAgent("geo3", ["geography"], () => ({ output: "Lyon" }));
    await addAgent("geo-down", ["geography"], () => ({ fail: "offline" }));
    await addAgent("judge", ["judging"], (task) => ({ output: `VERDICT after reading: ${task}` }));
    await addAgent("m1", ["mapping"], (task) => ({ output: `m1(${task})` }));
    await addAgent("m2", ["mapping"], (task) => ({ output: `m2(${task})` }));
    await addAgent("boss", ["managing"], (task) =>
      task.includes("Break this task") ? { output: 'Here is my plan:\n["collect the logs", "find the error", "write the fix"]' } : { output: `SUMMARY<${task}>` },
    );
    await addAgent("lazy-boss", ["managing"], () => ({ output: "I would rather not plan." }));
  }, 60_000);

  afterAll(async () => {
    await t?.close();
    await pg?.drop();
    await Promise.all(Object.values(agents).map((a) => a.close()));
  });

  describe("consensus asks several agents the same task and shows how far they agree", () => {
    it("majority: the most common answer wins (case and punctuation aside); a failed voter does not sink it", async () => {
      const { task, events } = await run("consensus", { task: "Capital of France?", agents: ["geo1", "geo2", "geo3", "geo-down"] });
      expect(task.state).toBe(TaskState.COMPLETED);
      expect(task.output).toBe("Paris.");
      const c = (task.result as any).consensus;
      expect(c).toMatchObject({ method: "majority", answered: 3, agreement: 0.667, majority: true, distinct_answers: 2, decided_by: "majority vote" });
      expect(c.votes.map((v: any) => v.agent_id)).toEqual(["geo1", "geo2", "geo3", "geo-down"]);
      for (const a of ["geo1", "geo2", "geo3"]) expect(agents[a]!.received).toContain("Capital of France?");
      expect(events.at(-1)!.message).toMatch(/2 of 3 answering agents agree/);
    });

    it("judge: a judge agent reads every answer and decides; the result still shows agreement", async () => {
      const { task } = await run("consensus", { task: "Capital of France, again?", agents: ["geo1", "geo3"], judge: { agent: "judge" } });
      expect(task.state).toBe(TaskState.COMPLETED);
      const seen = agents.judge!.received.at(-1)!;
      expect(seen).toContain("Capital of France, again?");
      expect(seen).toContain("## voter1\nParis.");
      expect(seen).toContain("## voter2\nLyon");
      expect(task.output).toMatch(/^VERDICT after reading/);
      expect((task.result as any).consensus).toMatchObject({ method: "judge", agreement: 0.5, majority: false, decided_by: "judge step judge (judge)" });
    });

    it("fails when no voter answers, and refuses fewer than two voters up front", async () => {
      const { task } = await run("consensus", { task: "anyone?", agents: ["geo-down"], voters: 2 });
      expect(task.state).toBe(TaskState.FAILED);
      expect(task.error).toMatch(/consensus: none of the 2 agents answered/);
      const e = await rejected("consensus", { task: "x", agents: ["geo1"] });
      expect(e.code).toBe(Code.InvalidArgument);
      expect(e.rawMessage).toMatch(/payload\.agents: a consensus needs at least 2 agents/);
      expect((await rejected("consensus", { task: "x", agents: ["geo1", "geo2"], method: "judge" })).rawMessage).toMatch(/payload\.judge: is required/);
    });
  });

  describe("map_reduce maps each item on an agent, spreading items over agents, then reduces", () => {
    it("maps items over agents in turn and reduces every mapped output", async () => {
      const { task, events } = await run("map_reduce", {
        items: ["alpha", "beta", { name: "gamma" }],
        map: { task: "upper {{index}}: {{item}}", agents: ["m1", "m2"] },
        reduce: { task: "combine\n{{dependencies}}", agent: "m1" },
      });
      expect(task.state).toBe(TaskState.COMPLETED);
      expect(agents.m1!.received).toEqual(expect.arrayContaining(["upper 1: alpha", 'upper 3: {"name":"gamma"}']));
      expect(agents.m2!.received).toContain("upper 2: beta");
      expect(task.output).toBe('m1(combine\n## map1\nm1(upper 1: alpha)\n\n## map2\nm2(upper 2: beta)\n\n## map3\nm1(upper 3: {"name":"gamma"}))');
      expect(events.filter((e) => e.type === TaskEventType.STEP_STARTED).map((e) => e.stepId)).toEqual(expect.arrayContaining(["map1", "map2", "map3", "reduce"]));
    });

    it("splits text into lines when given text instead of items", async () => {
      const { task } = await run("map_reduce", { text: "one\n\ntwo\nthree", split: "lines", map: { task: "{{item}}", capabilities: ["mapping"] } });
      expect(task.state).toBe(TaskState.COMPLETED);
      expect((task.result as any).order).toEqual(["map1", "map2", "map3"]);
    });

    it("rejects a map_reduce without items and a malformed reference in the map step", async () => {
      expect((await rejected("map_reduce", { items: [], map: { task: "{{item}}" } })).rawMessage).toMatch(/payload\.items: has no items/);
      expect((await rejected("map_reduce", { items: ["a"], map: { task: "{{steps.x}} {{item}}" } })).rawMessage).toMatch(/payload\.map\.task: \{\{steps\.x\}\} is not a valid reference/);
    });
  });

  describe("hierarchical: a manager plans sub-tasks, workers run them, the manager synthesises", () => {
    it("turns the manager's plan into worker steps spread over the workers, then synthesises their results", async () => {
      const { task, events } = await run("hierarchical", { task: "Debug the checkout outage", manager: { agent: "boss" }, workers: { agents: ["m1", "m2"] } });
      expect(task.state).toBe(TaskState.COMPLETED);
      expect(agents.m1!.received).toEqual(expect.arrayContaining(["collect the logs", "write the fix"]));
      expect(agents.m2!.received).toContain("find the error");
      const synthesis = agents.boss!.received.at(-1)!;
      expect(synthesis).toContain("Debug the checkout outage");
      expect(synthesis).toContain("## worker2\nm2(find the error)");
      expect(task.output).toMatch(/^SUMMARY</);
      expect((task.result as any).order).toEqual(["plan", "worker1", "worker2", "worker3", "synthesis"]);
      expect(events.filter((e) => e.type === TaskEventType.STEP_FINISHED).map((e) => e.stepId).at(-1)).toBe("synthesis");
    });

    it("fails naming the problem when the manager's plan has no sub-tasks", async () => {
      const { task } = await run("hierarchical", { task: "Plan something", manager: { agent: "lazy-boss" }, workers: { capabilities: ["mapping"] } });
      expect(task.state).toBe(TaskState.FAILED);
      expect(task.error).toMatch(/step plan failed .*plan listed no sub-tasks/);
    });
  });
});
}

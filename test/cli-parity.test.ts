// CLI parity with the admin console: every console action has a `meshai`
// command. The real command runs as a child process over the SQLite file a
// real core (in this process) serves, as an operator runs it on a live server.
import { spawn } from "node:child_process";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MeshService, TaskState } from "../gen/meshai/v1/mesh_pb.js";
import { gate, type ScriptedAgent, startScriptedAgent } from "./core/workflows/peers.js";
import { startTestCore, type TestCore } from "./support/core.js";
import { CLI, cliEnv, type Env, pollUntil, ROOT, runCli } from "./support/process.js";

let t: TestCore;
let env: Env;
let agent: ScriptedAgent;
let mesh: ReturnType<typeof createClient<typeof MeshService>>;
let admin: string;
const gates = new Map<string, ReturnType<typeof gate>>();
const auth = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

beforeAll(async () => {
  // A task whose text starts with "gated:" waits until the test opens its gate; "broken:" fails.
  agent = await startScriptedAgent(async (task) => {
    if (task.startsWith("broken:")) return { fail: "the agent broke on purpose" };
    const g = gates.get(task);
    if (g) await g.opened;
    return { output: `done: ${task}` };
  });
  t = await startTestCore({ MESHAI_ALLOW_PRIVATE_NETWORK: "true", MESHAI_HEALTH_CHECK_INTERVAL: "0" });
  env = cliEnv({ MESHAI_DATA_DIR: t.config.dataDir, MESHAI_HTTP_PORT: "0", MESHAI_GRPC_PORT: "0", MESHAI_ALLOW_PRIVATE_NETWORK: "true" });
  admin = await t.token("mcp:read mcp:execute mcp:manage");
  mesh = createClient(MeshService, createGrpcTransport({ baseUrl: t.core.url }));
}, 60_000);

afterAll(async () => {
  for (const g of gates.values()) g.open();
  await t?.close();
  await agent?.close();
});

async function cli(args: string[], input?: string) {
  return runCli(args, { env, input });
}

describe("--help names every console action's command", { timeout: 60_000 }, () => {
  const commands: Array<[string, string[]]> = [
    ["user", ["admin"]],
    ["user admin", ["<user>", "--remove"]],
    ["agent", ["update", "enable", "disable", "show", "check", "remove", "add", "list"]],
    ["agent list", ["--capability", "--protocol", "--health", "--enabled-only", "--json"]],
    ["agent update", ["<id>", "--name", "--capability", "--tag", "--max-concurrent", "--model", "--token-stdin", "--clear-token", "--endpoint", "--protocol"]],
    ["agent show", ["<id>", "--json"]],
    ["task", ["list", "show", "watch", "cancel"]],
    ["task list", ["--state", "--kind", "--parent", "--agent", "--limit", "--json"]],
    ["task show", ["<id>", "--json"]],
    ["task watch", ["<id>", "--after", "--json"]],
    ["task cancel", ["<id>", "--reason"]],
  ];
  it.each(commands)("meshai %s --help", async (words, mentions) => {
    const res = await cli([...words.split(" "), "--help"]);
    expect(res.code, res.stderr).toBe(0);
    for (const m of mentions) expect(res.stdout).toContain(m);
  });
});

describe("user admin grants the administrator role and --remove takes it back (UpdateUser admin)", { timeout: 120_000 }, () => {
  it("promotes, demotes, and the role decides whether mcp:manage may be issued", async () => {
    await t.core.platform.accounts.create({ email: "ops@example.com", password: "ops-password-1", admin: false });
    const up = await cli(["user", "admin", "ops@example.com"]);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toContain("ops@example.com is an administrator");
    expect((await t.core.platform.users.byEmail("ops@example.com"))?.admin).toBe(true);
    expect((await cli(["token", "create", "--user", "ops@example.com", "--scope", "mcp:manage"])).code).toBe(0);

    const down = await cli(["user", "admin", "ops@example.com", "--remove"]);
    expect(down.code, down.stderr).toBe(0);
    expect(down.stdout).toContain("ops@example.com is no longer an administrator");
    const list = await cli(["user", "list"]);
    expect(list.stdout).toMatch(/^ops@example\.com\t\S+\tuser\tactive/m);
    const refused = await cli(["token", "create", "--user", "ops@example.com", "--scope", "mcp:manage"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/mcp:manage is for administrators only/);
  });

  it("an unknown user is refused with exit 1, naming them", async () => {
    const res = await cli(["user", "admin", "ghost@example.com"]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/ghost@example\.com not found/);
  });
});

describe("client list shows how each client was registered and its redirect URIs (ListClients)", { timeout: 120_000 }, () => {
  it("an admin-added client shows `admin` and its redirect URI", async () => {
    const add = await cli(["client", "add", "--name", "Portal", "--redirect-uri", "https://portal.example.com/cb", "--json"]);
    expect(add.code, add.stderr).toBe(0);
    const id = (JSON.parse(add.stdout) as { client_id: string }).client_id;
    const list = await cli(["client", "list"]);
    const line = list.stdout.split("\n").find((l) => l.startsWith(`${id}\t`));
    expect(line?.split("\t")).toEqual([id, "admin", "client_secret_basic", "never used", "Portal", "https://portal.example.com/cb"]);
  });
});

describe("grant list shows each grant's last use and live refresh tokens; grant revoke --user revokes them all (ListGrants, RevokeGrant)", { timeout: 120_000 }, () => {
  it("lists a user's grant with its columns, then revokes it", async () => {
    const user = await t.core.platform.accounts.create({ email: "granted@example.com", password: "granted-password-1" });
    const { client } = await t.core.platform.oauth.registry.createByAdmin({ client_name: "Granted app", redirect_uris: ["https://granted.example.com/cb"], token_endpoint_auth_method: "none", grant_types: ["authorization_code", "refresh_token"] });
    const grant = await t.core.platform.oauth.grants.approve(user.id, client.clientId, ["mcp:read"], [t.config.mcpResource]);
    const list = await cli(["grant", "list", "--user", "granted@example.com"]);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout.trim().split("\t")).toEqual([grant.id, "granted@example.com", client.clientId, "mcp:read", expect.stringMatching(/^\d{4}-/), "never used", "0 live refresh tokens"]);
    const json = JSON.parse((await cli(["grant", "list", "--client", client.clientId, "--json"])).stdout) as Array<Record<string, unknown>>;
    expect(json).toEqual([expect.objectContaining({ id: grant.id, activeRefreshTokens: 0 })]);
    const revoke = await cli(["grant", "revoke", "--user", "granted@example.com"]);
    expect(revoke.stdout).toContain("revoked 1 grant");
    expect((await cli(["grant", "list", "--user", "granted@example.com"])).stdout).toBe("");
  });
});

describe("agent update changes only the fields given, enable/disable switch routing, show tells health and stats (UpdateAgent, GetAgent)", { timeout: 120_000 }, () => {
  it("updates name, tags, max concurrency and model, keeping every other field and config key", async () => {
    const add = await cli(["agent", "add", "--id", "cli-writer", "--name", "Writer", "--protocol", "meshai_http", "--endpoint", agent.url, "--capability", "cli_writing", "--model", "m1"]);
    expect(add.code, add.stderr).toBe(0);
    await t.core.platform.registry.update("cli-writer", { config: { model: "m1", temperature: 0.2 } }, ["config"]);

    const up = await cli(["agent", "update", "cli-writer", "--name", "Writer II", "--tag", "prose", "docs", "--max-concurrent", "7", "--model", "m2"]);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toContain("updated agent cli-writer: name, tags, max_concurrent_tasks, config");
    const a = await t.core.platform.registry.get("cli-writer");
    expect(a).toMatchObject({ name: "Writer II", tags: ["prose", "docs"], maxConcurrentTasks: 7, capabilities: ["cli_writing"], endpoint: agent.url, protocol: "meshai_http" });
    expect(a.config).toEqual({ model: "m2", temperature: 0.2 });
  });

  it("a bearer token read from stdin is stored, shown only as stored, and --clear-token forgets it", async () => {
    const set = await cli(["agent", "update", "cli-writer", "--token-stdin"], "writer-secret-token\n");
    expect(set.code, set.stderr).toBe(0);
    expect((await t.core.platform.registry.get("cli-writer")).credentials).toEqual({ bearerToken: "writer-secret-token" });
    const show = await cli(["agent", "show", "cli-writer"]);
    expect(show.stdout).toMatch(/^credentials\s+stored \(never shown\)$/m);
    const json = await cli(["agent", "show", "cli-writer", "--json"]);
    expect(JSON.parse(json.stdout)).toMatchObject({ id: "cli-writer", hasCredentials: true });
    const list = await cli(["agent", "list", "--json"]);
    for (const out of [show.stdout, json.stdout, list.stdout]) expect(out).not.toContain("writer-secret-token");

    const clear = await cli(["agent", "update", "cli-writer", "--clear-token"]);
    expect(clear.code, clear.stderr).toBe(0);
    expect((await t.core.platform.registry.get("cli-writer")).credentials).toBeNull();
  });

  it("disable takes the agent out of routing (a task for its capability fails naming it), enable puts it back", async () => {
    const off = await cli(["agent", "disable", "cli-writer"]);
    expect(off.code, off.stderr).toBe(0);
    expect(off.stdout).toContain("agent cli-writer is disabled");
    expect((await cli(["agent", "list"])).stdout).toMatch(/^cli-writer\t.*\tdisabled$/m);
    const [enabledOnly, byCapability] = await Promise.all([cli(["agent", "list", "--enabled-only"]), cli(["agent", "list", "--capability", "cli_writing", "--protocol", "meshai_http"])]);
    expect(enabledOnly.stdout).not.toContain("cli-writer");
    expect(byCapability.stdout.trim().split("\n").map((l) => l.split("\t")[0])).toEqual(["cli-writer"]);
    expect((await cli(["agent", "show", "cli-writer"])).stdout).toMatch(/^enabled\s+no/m);
    const refused = [];
    for await (const r of mesh.executeTask({ task: "write a poem", capabilities: ["cli_writing"] }, auth(admin))) refused.push(r.event!);
    expect(refused.at(-1)?.state).toBe(TaskState.FAILED);
    expect(refused.at(-1)?.message).toMatch(/no enabled agent has the capability "cli_writing"/);

    const on = await cli(["agent", "enable", "cli-writer"]);
    expect(on.stdout).toContain("agent cli-writer is enabled");
    const ran = [];
    for await (const r of mesh.executeTask({ task: "write a haiku", capabilities: ["cli_writing"] }, auth(admin))) ran.push(r.event!);
    expect(ran.at(-1)?.state).toBe(TaskState.COMPLETED);
  });

  it("show gives health with the last check and its detail, and the task statistics", async () => {
    const check = await cli(["agent", "check", "cli-writer"]);
    expect(check.stdout).toContain("cli-writer: healthy");
    const show = await cli(["agent", "show", "cli-writer"]);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toMatch(/^health\s+healthy \(.+\)$/m);
    expect(show.stdout).toMatch(/^last check\s+\d{4}-\d\d-\d\dT/m);
    expect(show.stdout).toMatch(/^tasks\s+100% of 1 succeeded$/m);
    expect(show.stdout).toMatch(/^avg latency\s+\d+ ms$/m);
  });

  it("refuses an update naming no field (exit 2), an unknown agent and an invalid value (exit 1, naming the field)", async () => {
    const [none, unknown, bad, nan] = await Promise.all([
      cli(["agent", "update", "cli-writer"]),
      cli(["agent", "update", "no-such-agent", "--name", "x"]),
      cli(["agent", "update", "cli-writer", "--capability", "Not A Capability"]),
      cli(["agent", "update", "cli-writer", "--max-concurrent", "lots"]),
    ]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/name at least one field/);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/agent no-such-agent not found/);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/agent\.capabilities:/);
    expect(nan.code).not.toBe(0);
    expect(nan.stderr).toMatch(/--max-concurrent/);
    for (const r of await Promise.all(["enable", "disable", "show", "delete"].map((verb) => cli(["agent", verb, "no-such-agent"])))) {
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/agent no-such-agent not found/);
    }
  });
});

/** Starts `meshai task watch` and collects its output as it arrives. */
function watch(args: string[]) {
  const child = spawn(process.execPath, [CLI, "task", "watch", ...args], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
  child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
  const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
  return { child, out: () => stdout, err: () => stderr, exited };
}

async function detached(task: string): Promise<string> {
  for await (const r of mesh.executeTask({ task, agents: ["cli-runner"], detached: true }, auth(admin))) return r.event!.taskId;
  throw new Error("no event");
}

describe("task list, show, watch and cancel see every user's tasks (ListTasks, GetTask, WatchTask, CancelTask)", { timeout: 120_000 }, () => {
  let running = "";
  beforeAll(async () => {
    await t.core.platform.registry.register({ id: "cli-runner", name: "Runner", protocol: "meshai_http", endpoint: agent.url, capabilities: ["cli_running"] });
  });
  it("task list filters by state and kind; --json has the ListTasks fields", async () => {
    const text = "gated: list me";
    gates.set(text, gate());
    running = await detached(text);
    await agent.waitFor((x) => x === text);
    const list = await cli(["task", "list", "--state", "executing"]);
    expect(list.code, list.stderr).toBe(0);
    const line = list.stdout.split("\n").find((l) => l.startsWith(`${running}\t`));
    expect(line?.split("\t")).toEqual([running, "task", "executing", "cli-runner", expect.stringMatching(/^\d{4}-/), "admin@example.com", text]);
    expect((await cli(["task", "list", "--state", "completed"])).stdout).not.toContain(running);
    expect((await cli(["task", "list", "--kind", "workflow"])).stdout).not.toContain(running);
    const json = JSON.parse((await cli(["task", "list", "--kind", "task", "--json"])).stdout) as Array<Record<string, unknown>>;
    expect(json.find((x) => x.id === running)).toMatchObject({ kind: "TASK_KIND_TASK", state: "TASK_STATE_EXECUTING", agentId: "cli-runner" });
    const byAgent = await cli(["task", "list", "--agent", "cli-runner"]);
    expect(byAgent.stdout).toContain(running);
    expect((await cli(["task", "list", "--agent", "no-such-agent"])).stdout).toBe("");
    const bad = await cli(["task", "list", "--state", "sleeping"]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--state/);
  });

  it("task watch prints the stored events, then each new one as it is stored, and exits 0 at COMPLETED", async () => {
    const w = watch([running]);
    // The events so far arrive while the agent still holds the task.
    expect(await pollUntil(async () => /\tROUTED\t/.test(w.out()), 120)).toBe(true);
    expect(w.out()).not.toMatch(/\tCOMPLETED\t/);
    gates.get("gated: list me")!.open();
    expect(await w.exited).toBe(0);
    const lines = w.out().trim().split("\n");
    const types = lines.map((l) => l.split("\t")[2]);
    expect(types.slice(0, 2)).toEqual(["ACCEPTED", "ROUTED"]);
    expect(types.at(-1)).toBe("COMPLETED");
    expect(lines.map((l) => l.split("\t")[0])).toEqual(lines.map((_, i) => `#${i + 1}`));
    expect(lines[0]).toMatch(/^#1\t\d{4}-\d\d-\d\dT[^\t]+\tACCEPTED\tpending/);
    expect(w.err()).toBe("");

    const resumed = await cli(["task", "watch", running, "--after", "2", "--json"]);
    expect(resumed.code, resumed.stderr).toBe(0);
    const events = resumed.stdout.trim().split("\n").map((l) => JSON.parse(l) as { seq: string; type: string });
    expect(events.map((e) => Number(e.seq))).toEqual(lines.slice(2).map((_, i) => i + 3));
    expect(events.at(-1)?.type).toBe("TASK_EVENT_TYPE_COMPLETED");
    const past = await cli(["task", "watch", running, "--after", "99"]);
    expect(past.code).toBe(2);
    expect(past.stderr).toMatch(new RegExp(`--after: task ${running} ended at seq ${lines.length}`));
  });

  it("task show prints the task, its output and every event; --json gives task, steps and events", async () => {
    const show = await cli(["task", "show", running]);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toMatch(/^state\s+completed$/m);
    expect(show.stdout).toMatch(/^agent\s+cli-runner$/m);
    expect(show.stdout).toContain("done: gated: list me");
    expect(show.stdout).toMatch(/^events \(\d+\)$/m);
    expect(show.stdout).toMatch(/^ {2}#1\t\S+\tACCEPTED\tpending\ttask accepted$/m);
    const json = JSON.parse((await cli(["task", "show", running, "--json"])).stdout) as { task: { id: string }; steps: unknown[]; events: { seq: string }[] };
    expect(json.task.id).toBe(running);
    expect(json.steps).toEqual([]);
    expect(json.events.length).toBeGreaterThanOrEqual(3);
    expect(json.events.map((e) => Number(e.seq))).toEqual(json.events.map((_, i) => i + 1));
    const missing = await cli(["task", "show", "tsk_nope"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/task tsk_nope not found/);
  });

  it("task watch exits 1 naming the error when the task failed", async () => {
    const failed = await detached("broken: on purpose");
    const res = await cli(["task", "watch", failed]);
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/\tFAILED\t/);
    expect(res.stderr).toMatch(new RegExp(`task ${failed} failed: .*the agent broke on purpose`));
  });

  it("task cancel stops a task the server is running: the agent call is abandoned and watchers see CANCELLED", async () => {
    const text = "gated: cancel me";
    gates.set(text, gate());
    const id = await detached(text);
    await agent.waitFor((x) => x === text);
    const res = await cli(["task", "cancel", id, "--reason", "operator said stop"]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain(`task ${id} is cancelled`);
    const task = (await mesh.getTask({ id }, auth(admin))).task!;
    expect(task.state).toBe(TaskState.CANCELLED);
    expect(task.error).toContain("operator said stop");
    // The server that runs it notices the stored cancel at its next heartbeat and drops the agent call.
    expect(await pollUntil(async () => agent.aborted.includes(text), 80)).toBe(true);
    const again = await cli(["task", "cancel", id]);
    expect(again.stdout).toContain(`task ${id} had already ended (cancelled)`);
  });

  it("a workflow's steps show in task show and task list --parent (ListTasks parent_id)", async () => {
    const { workflow } = await mesh.submitWorkflow(
      { workflowType: "sequential", payload: { steps: [{ id: "draft", task: "draft it", agent: "cli-runner" }, { id: "polish", task: "polish: {{previous.output}}", agent: "cli-runner" }] } },
      auth(admin),
    );
    const id = workflow!.id;
    const done = await cli(["task", "watch", id]);
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toMatch(/\tSTEP_STARTED\t[^\n]*step draft/);
    const show = await cli(["task", "show", id]);
    expect(show.stdout).toMatch(/^kind\s+workflow$/m);
    expect(show.stdout).toMatch(/^steps \(2\)$/m);
    const steps = (await cli(["task", "list", "--parent", id])).stdout.trim().split("\n").map((l) => l.split("\t"));
    expect(steps.map((s) => [s[1], s[2], s[3]])).toEqual([
      ["task", "completed", "cli-runner"],
      ["task", "completed", "cli-runner"],
    ]);
    expect(steps[0]![6]).toBe("draft it");
    const viaRpc = await mesh.listTasks({ parentId: id }, auth(admin));
    expect(viaRpc.tasks.map((x) => x.input)).toEqual(["draft it", "polish: done: draft it"]);
  });
});

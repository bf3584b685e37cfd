import { Code, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentHealth, AgentProtocol, type ExecuteTaskRequest, MeshService, type TaskEvent, TaskEventType, TaskState } from "../../../gen/meshai/v1/mesh_pb.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { createHealthChecks } from "../../../src/core/mesh/health-checks.js";
import { createAgentStatsRepository } from "../../../src/core/store/agent-stats.js";
import { createAgentRepository } from "../../../src/core/store/agents.js";
import { startTestCore, type TestCore } from "../../support/core.js";
import { type A2aLog, type Peer, startA2aAgent, startLegacyA2aAgent, startMeshHttpAgent, startOpenAiServer } from "./peers.js";

let t: TestCore;
let admin: string;
let alice: string;
let bob: string;
let mesh: ReturnType<typeof createClient<typeof MeshService>>;
let openai: Awaited<ReturnType<typeof startOpenAiServer>>;
let streamer: Peer & { log: A2aLog };
let poller: Peer & { log: A2aLog };
let failing: Peer & { log: A2aLog };
let slow: Peer & { log: A2aLog };
let legacy: Awaited<ReturnType<typeof startLegacyA2aAgent>>;
let crew: Awaited<ReturnType<typeof startMeshHttpAgent>>;
const peers: Peer[] = [];

const auth = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
type Req = MessageInitShape<typeof import("../../../gen/meshai/v1/mesh_pb.js").ExecuteTaskRequestSchema>;

async function run(req: Req, token = alice): Promise<TaskEvent[]> {
  const events: TaskEvent[] = [];
  for await (const r of mesh.executeTask(req, auth(token))) events.push(r.event!);
  return events;
}

const types = (events: TaskEvent[]) => events.map((e) => TaskEventType[e.type]);
const last = (events: TaskEvent[]) => events[events.length - 1]!;

async function register(id: string, protocol: AgentProtocol, endpoint: string, capabilities: string[], extra: Record<string, unknown> = {}) {
  await mesh.registerAgent({ agent: { id, name: id, protocol, endpoint, capabilities, maxConcurrentTasks: 4, ...extra } }, auth(admin));
}

beforeAll(async () => {
  openai = await startOpenAiServer();
  [streamer, poller, failing, slow, legacy, crew] = await Promise.all([
    startA2aAgent("stream", { streaming: true }),
    startA2aAgent("stream", { streaming: false }),
    startA2aAgent("fail", { streaming: true }),
    startA2aAgent("slow", { streaming: true }),
    startLegacyA2aAgent(),
    startMeshHttpAgent(),
  ]);
  peers.push(openai, streamer, poller, failing, slow, legacy, crew);
  t = await startTestCore({
    MESHAI_ALLOW_PRIVATE_NETWORK: "true",
    MESHAI_HEALTH_CHECK_INTERVAL: "0",
    OPENAI_BASE_URL: `${openai.url}/v1`,
    OPENAI_API_KEY: "sk-test-agent-key",
    OPENAI_MODEL: "test-model",
  });
  admin = await t.token("mcp:read mcp:execute mcp:manage");
  alice = await t.token("mcp:read mcp:execute", "alice@example.com");
  bob = await t.token("mcp:read mcp:execute", "bob@example.com");
  mesh = createClient(MeshService, createGrpcTransport({ baseUrl: t.core.url }));
  await register("a2a-stream", AgentProtocol.A2A, streamer.url, ["story_telling"]);
  await mesh.registerAgent({ agent: { id: "a2a-poll", name: "poller", protocol: AgentProtocol.A2A, endpoint: poller.url, capabilities: ["polling_work"] }, credentials: { bearerToken: "poller-secret" } }, auth(admin));
  await register("a2a-fail", AgentProtocol.A2A, failing.url, ["flaky_work"]);
  await register("a2a-slow", AgentProtocol.A2A, slow.url, ["slow_work"]);
  await register("a2a-legacy", AgentProtocol.A2A, legacy.url, ["legacy_work"]);
  await mesh.registerAgent({ agent: { id: "llm-bad", name: "misbehaving LLM", protocol: AgentProtocol.OPENAI, endpoint: `${openai.url}/v1`, capabilities: ["bad_llm_work"], config: { model: "bad" } } }, auth(admin));
  await register("crew", AgentProtocol.MESHAI_HTTP, crew.url, ["crew_work"], { framework: "crewai" });
}, 60_000);

afterAll(async () => {
  await t?.close();
  await Promise.all(peers.map((p) => p.close()));
});

describe("ExecuteTask streams accepted, routed, output and completed, each stored with its seq", () => {
  it("runs an OpenAI-compatible agent registered from OPENAI_BASE_URL, turning SSE deltas into output events", async () => {
    openai.behaviour = "ok";
    const events = await run({ task: "What is the answer?", capabilities: ["text_generation"] });
    // Deltas that arrive while the previous event is being stored are merged, so 1 to 4 output events.
    expect(types(events).slice(0, 2)).toEqual(["ACCEPTED", "ROUTED"]);
    expect(new Set(types(events).slice(2, -1))).toEqual(new Set(["OUTPUT"]));
    expect(types(events).at(-1)).toBe("COMPLETED");
    expect(events.map((e) => Number(e.seq))).toEqual(events.map((_, i) => i + 1));
    expect(events.filter((e) => e.type === TaskEventType.OUTPUT).map((e) => e.output).join("")).toBe("The answer is 42.");
    expect(last(events)).toMatchObject({ output: "The answer is 42.", state: TaskState.COMPLETED, agentId: "llm.openai" });
    const routed = events[1]!.routing!;
    expect(routed.agentId).toBe("llm.openai");
    expect(routed.requiredCapabilities).toEqual(["text_generation"]);
    expect(routed.reasons.join(" ")).toContain("text_generation");
    // The agent got its own key and the model, never the caller's token.
    const sent = openai.requests.at(-1)!;
    expect(sent.auth).toBe("Bearer sk-test-agent-key");
    expect(sent.body).toMatchObject({ model: "test-model", stream: true });
    const { task } = await mesh.getTask({ id: events[0]!.taskId }, auth(alice));
    expect(task).toMatchObject({ state: TaskState.COMPLETED, output: "The answer is 42.", lastSeq: BigInt(events.length), agentId: "llm.openai" });
  });

  it("streams an A2A 1.0 agent whose card says streaming: status as progress, artifacts as output", async () => {
    const events = await run({ task: "tell me a story", capabilities: ["story_telling"] });
    expect(types(events)[0]).toBe("ACCEPTED");
    expect(types(events)).toContain("PROGRESS");
    expect(last(events)).toMatchObject({ type: TaskEventType.COMPLETED, output: "Hello from A2A, you said: tell me a story", agentId: "a2a-stream" });
    expect(streamer.log.received).toContain("tell me a story");
  });

  it("polls GetTask for an A2A agent whose card does not stream, sending the agent's own credentials", async () => {
    const events = await run({ task: "poll me", capabilities: ["polling_work"] });
    expect(last(events)).toMatchObject({ type: TaskEventType.COMPLETED, output: "Hello from A2A, you said: poll me" });
    expect(poller.log.authorization).toContain("Bearer poller-secret");
    expect(poller.log.authorization.some((a) => a?.includes(alice))).toBe(false);
  });

  it("talks to an A2A 0.3 agent (agent.json card, message/send and tasks/get)", async () => {
    const events = await run({ task: "echo this", capabilities: ["legacy_work"] });
    expect(last(events)).toMatchObject({ type: TaskEventType.COMPLETED, output: "legacy echo: echo this" });
    expect(legacy.methods).toContain("message/send");
    expect(legacy.methods).toContain("tasks/get");
  });

  it("runs a MeshAI HTTP agent through POST /execute", async () => {
    const events = await run({ task: "plan a trip", agents: ["crew"] });
    expect(last(events)).toMatchObject({ type: TaskEventType.COMPLETED, output: "crew says: plan a trip" });
    expect(crew.calls.at(-1)).toMatchObject({ task_type: "crew_work", payload: { task: "plan a trip" }, timeout_seconds: 300 });
    expect(last(events).data?.execution_time).toBe(0.01);
  });
});

describe("bad agents end the task with a clear failed event", () => {
  it("fails with the agent's own reason after retrying an A2A agent that reports failed", async () => {
    const events = await run({ task: "do flaky work", capabilities: ["flaky_work"] });
    expect(types(events)).toContain("RETRY");
    expect(last(events).type).toBe(TaskEventType.FAILED);
    expect(last(events).message).toContain("model quota exceeded");
  });

  it("names the chunk when an agent answers garbage", async () => {
    openai.behaviour = "garbage";
    const events = await run({ task: "x", agents: ["llm-bad"] });
    expect(last(events)).toMatchObject({ type: TaskEventType.FAILED, state: TaskState.FAILED });
    expect(last(events).message).toContain("not JSON");
  });

  it("says the connection dropped when the stream ends before [DONE]", async () => {
    openai.behaviour = "drop";
    const events = await run({ task: "x", agents: ["llm-bad"] });
    expect(last(events).type).toBe(TaskEventType.FAILED);
    // Output had started, so the failure is final (no duplicate answer from a retry).
    expect(last(events).message).toMatch(/terminated|dropped|socket|closed/i);
  });

  it("times out an agent that hangs, after timeout_seconds", async () => {
    openai.behaviour = "hang";
    const events = await run({ task: "x", agents: ["llm-bad"], timeoutSeconds: 1 });
    expect(last(events).type).toBe(TaskEventType.FAILED);
    expect(last(events).message).toContain("timed out after 1 s");
  });

  it("reports the HTTP status and the agent's message for an error answer", async () => {
    openai.behaviour = "error";
    const events = await run({ task: "x", agents: ["llm-bad"] });
    expect(last(events).message).toContain("HTTP 429");
    expect(last(events).message).toContain("Rate limit reached");
    openai.behaviour = "ok";
  });

  it("does not retry an agent that refuses the call (HTTP 401), and says to check its credentials", async () => {
    await register("llm-401", AgentProtocol.OPENAI, `${openai.url}/v1`, ["denied_work"]);
    openai.behaviour = "unauthorized";
    const events = await run({ task: "x", agents: ["llm-401"] });
    expect(types(events)).toEqual(["ACCEPTED", "ROUTED", "FAILED"]);
    expect(last(events).message).toContain("HTTP 401 (check the agent's credentials): Incorrect API key provided");
    openai.behaviour = "ok";
  });

  it("fails a task needing a capability nobody has, saying which and how to register an agent", async () => {
    const events = await run({ task: "draw a cat", capabilities: ["image_generation"] });
    expect(types(events)).toEqual(["ACCEPTED", "FAILED"]);
    expect(last(events).message).toContain('"image_generation"');
    expect(last(events).message).toContain("RegisterAgent");
  });

  it("fails a task naming unknown agent ids", async () => {
    const events = await run({ task: "x", agents: ["no-such-agent"] });
    expect(last(events).message).toContain("unknown agent id no-such-agent");
  });

  it("refuses a request without task text before creating a task", async () => {
    await expect(run({ task: "  " })).rejects.toMatchObject({ code: Code.InvalidArgument, rawMessage: expect.stringContaining("task:") });
  });
});

describe("failures fall back to the next candidate", () => {
  it("moves to the next agent in the request's order when the first one fails", async () => {
    const events = await run({ task: "fallback please", agents: ["a2a-fail", "a2a-stream"] });
    const fallback = events.find((e) => e.type === TaskEventType.RETRY && e.message.startsWith("falling back"));
    expect(fallback?.agentId).toBe("a2a-stream");
    expect(last(events)).toMatchObject({ type: TaskEventType.COMPLETED, agentId: "a2a-stream" });
  });
});

describe("a circuit breaker per agent opens after 5 consecutive failures", () => {
  it("stops routing to an agent whose circuit opened, and shows it in Agent.stats", async () => {
    await register("a2a-fail-2", AgentProtocol.A2A, failing.url, ["doomed_work"]);
    for (let i = 0; i < 3; i++) await run({ task: `doomed ${i}`, capabilities: ["doomed_work"] });
    const { agent } = await mesh.getAgent({ id: "a2a-fail-2" }, auth(alice));
    expect(agent!.stats!.circuitState).toBe("open");
    const events = await run({ task: "doomed again", capabilities: ["doomed_work"] });
    expect(types(events)).toEqual(["ACCEPTED", "FAILED"]);
    expect(last(events).message).toContain("a2a-fail-2 (circuit open after repeated failures)");
  });
});

describe("cancellation stops the agent call", () => {
  it("CancelTask cancels the remote A2A task and ends with a cancelled event", async () => {
    const events: TaskEvent[] = [];
    const done = (async () => {
      for await (const r of mesh.executeTask({ task: "take your time", capabilities: ["slow_work"] }, auth(alice))) events.push(r.event!);
    })();
    while (!events.some((e) => e.type === TaskEventType.PROGRESS)) await new Promise((r) => setTimeout(r, 20));
    const { task } = await mesh.cancelTask({ id: events[0]!.taskId, reason: "changed my mind" }, auth(alice));
    await done;
    expect(task?.state).toBe(TaskState.CANCELLED);
    expect(last(events)).toMatchObject({ type: TaskEventType.CANCELLED, message: "cancelled: changed my mind" });
    expect(slow.log.cancelled.length).toBeGreaterThan(0);
  });

  it("cancels an attached task when its ExecuteTask stream is cancelled", async () => {
    const ctl = new AbortController();
    let taskId = "";
    try {
      for await (const r of mesh.executeTask({ task: "attached", capabilities: ["slow_work"] }, { ...auth(alice), signal: ctl.signal })) {
        taskId = r.event!.taskId;
        if (r.event!.type === TaskEventType.PROGRESS) ctl.abort();
      }
    } catch {
      /* the client sees its own cancel */
    }
    const events: TaskEvent[] = [];
    for await (const r of mesh.watchTask({ id: taskId }, auth(alice))) events.push(r.event!);
    expect(last(events).type).toBe(TaskEventType.CANCELLED);
    expect(last(events).message).toContain("ExecuteTask stream");
  });

  it("keeps a detached task running after its stream is cancelled; WatchTask follows it to the end", async () => {
    const ctl = new AbortController();
    let taskId = "";
    try {
      for await (const r of mesh.executeTask({ task: "detached", capabilities: ["story_telling"], detached: true }, { ...auth(alice), signal: ctl.signal })) {
        taskId = r.event!.taskId;
        ctl.abort();
      }
    } catch {
      /* the client sees its own cancel */
    }
    const events: TaskEvent[] = [];
    for await (const r of mesh.watchTask({ id: taskId }, auth(alice))) events.push(r.event!);
    expect(last(events)).toMatchObject({ type: TaskEventType.COMPLETED, output: "Hello from A2A, you said: detached" });
  });
});

describe("WatchTask replays stored events after after_seq, then ends with the task", () => {
  it("resumes from a middle seq with exactly the later events", async () => {
    const all = await run({ task: "replay me", capabilities: ["text_generation"] });
    const middle = 3;
    const events: TaskEvent[] = [];
    for await (const r of mesh.watchTask({ id: all[0]!.taskId, afterSeq: BigInt(middle) }, auth(alice))) events.push(r.event!);
    expect(events.map((e) => Number(e.seq))).toEqual(all.slice(middle).map((e) => Number(e.seq)));
    expect(events.map((e) => e.output)).toEqual(all.slice(middle).map((e) => e.output));
  });
});

describe("a task is visible only to its owner (and managers)", () => {
  it("hides alice's task from bob in GetTask, WatchTask, CancelTask and ListTasks", async () => {
    const events = await run({ task: "private", capabilities: ["text_generation"] });
    const id = events[0]!.taskId;
    await expect(mesh.getTask({ id }, auth(bob))).rejects.toMatchObject({ code: Code.NotFound });
    await expect(mesh.cancelTask({ id }, auth(bob))).rejects.toMatchObject({ code: Code.NotFound });
    await expect((async () => {
      for await (const _ of mesh.watchTask({ id }, auth(bob))) { /* none */ }
    })()).rejects.toMatchObject({ code: Code.NotFound });
    const bobs = await mesh.listTasks({}, auth(bob));
    expect(bobs.tasks.map((x) => x.id)).not.toContain(id);
    const alices = await mesh.listTasks({}, auth(alice));
    expect(alices.tasks.map((x) => x.id)).toContain(id);
    expect(alices.tasks.every((x) => x.owner === alices.tasks[0]!.owner)).toBe(true);
    const all = await mesh.listTasks({ pageSize: 200 }, auth(admin));
    expect(all.tasks.map((x) => x.id)).toContain(id);
  });
});

describe("agents show live stats and health", () => {
  it("counts successes and failures in Agent.stats", async () => {
    const { agent } = await mesh.getAgent({ id: "a2a-stream" }, auth(alice));
    expect(Number(agent!.stats!.totalTasks)).toBeGreaterThan(0);
    expect(agent!.stats!.successRate).toBeGreaterThan(0);
    expect(agent!.stats!.currentLoad).toBe(0);
    const flaky = await mesh.getAgent({ id: "a2a-fail" }, auth(alice));
    expect(flaky.agent!.stats!.successRate).toBe(0);
  });

  it("CheckAgentHealth marks a reachable agent healthy and a dead one unhealthy with the reason", async () => {
    const ok = await mesh.checkAgentHealth({ id: "crew" }, auth(alice));
    expect(ok.agent!.health).toBe(AgentHealth.HEALTHY);
    await register("dead", AgentProtocol.MESHAI_HTTP, "http://127.0.0.1:9", ["crew_work"]);
    const dead = await mesh.checkAgentHealth({ id: "dead" }, auth(alice));
    expect(dead.agent!.health).toBe(AgentHealth.UNHEALTHY);
    expect(dead.agent!.healthDetail).toContain("could not reach");
  });
});

describe("RegisterAgent imports an A2A agent card", () => {
  it("takes name, description and skills from card_url; fields in agent override", async () => {
    const { agent } = await mesh.registerAgent({ cardUrl: `${streamer.url}/.well-known/agent-card.json`, agent: { id: "imported", tags: ["mine"] } }, auth(admin));
    expect(agent).toMatchObject({ id: "imported", name: "A2A stream agent", protocol: AgentProtocol.A2A, capabilities: ["text_generation"], tags: ["mine"] });
    const events = await run({ task: "via the card", agents: ["imported"] });
    expect(last(events).output).toBe("Hello from A2A, you said: via the card");
  });

  it("refuses a card URL that serves no valid card", async () => {
    await expect(mesh.registerAgent({ cardUrl: `${crew.url}/health` }, auth(admin))).rejects.toMatchObject({ code: Code.InvalidArgument, rawMessage: expect.stringContaining("card_url:") });
  });
});

describe("a retried ExecuteTask with the same idempotency key gets the same task", () => {
  it("replays the first task's events instead of running it again", async () => {
    const first = await run({ task: "only once", agents: ["crew"], idempotencyKey: "key-1" });
    const calls = crew.calls.length;
    const again = await run({ task: "only once", agents: ["crew"], idempotencyKey: "key-1" });
    expect(again.map((e) => e.taskId)).toEqual(first.map((e) => e.taskId));
    expect(again.map((e) => Number(e.seq))).toEqual(first.map((e) => Number(e.seq)));
    expect(crew.calls.length).toBe(calls);
  });
});

describe("ListTasks filters by state and pages", () => {
  it("lists only failed tasks when asked, newest first, with a next page token", async () => {
    const failed = await mesh.listTasks({ state: TaskState.FAILED, pageSize: 2 }, auth(alice));
    expect(failed.tasks.length).toBe(2);
    expect(failed.tasks.every((x) => x.state === TaskState.FAILED)).toBe(true);
    expect(failed.nextPageToken).not.toBe("");
    const next = await mesh.listTasks({ state: TaskState.FAILED, pageSize: 2, pageToken: failed.nextPageToken }, auth(alice));
    expect(next.tasks.map((x) => x.id)).not.toContain(failed.tasks[0]!.id);
  });
});

describe("background health checks mark agents by probing their protocol", () => {
  it("marks a reachable agent healthy and an unreachable one unhealthy on its own, and stops on shutdown", async () => {
    await register("bg-ok", AgentProtocol.MESHAI_HTTP, crew.url, ["bg_work"]);
    await register("bg-dead", AgentProtocol.OPENAI, "http://127.0.0.1:9/v1", ["bg_work"]);
    const knex = t.core.platform.db.knex;
    const checks = createHealthChecks({ agents: createAgentRepository(knex), agentStats: createAgentStatsRepository(knex), adapters: t.core.platform.mesh.adapters, clock: { now: () => Date.now() }, intervalSeconds: 1 });
    checks.start();
    try {
      for (;;) {
        const [ok, dead] = await Promise.all([mesh.getAgent({ id: "bg-ok" }, auth(alice)), mesh.getAgent({ id: "bg-dead" }, auth(alice))]);
        if (ok.agent!.health !== AgentHealth.UNSPECIFIED && dead.agent!.health !== AgentHealth.UNSPECIFIED) {
          expect(ok.agent!.health).toBe(AgentHealth.HEALTHY);
          expect(dead.agent!.health).toBe(AgentHealth.UNHEALTHY);
          break;
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    } finally {
      await checks.stop();
    }
  });
});

import type { JsonObject } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentProtocol, MeshService, type TaskEvent, TaskEventType, TaskKind, TaskState } from "../../../gen/meshai/v1/mesh_pb.js";
import { loadConfig } from "../../../src/config.js";
import { startTestCore, type TestCore } from "../../support/core.js";
import { databaseTargets, type FreshPostgresDatabase, freshPostgresDatabase } from "../../support/postgres.js";
import { gate, type ScriptedAgent, startScriptedAgent } from "./peers.js";

let t: TestCore;
let pg: FreshPostgresDatabase | undefined;
let admin: string;
let alice: string;
let bob: string;
let mesh: ReturnType<typeof createClient<typeof MeshService>>;
const agents: Record<string, ScriptedAgent> = {};

const auth = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
const types = (events: TaskEvent[]) => events.map((e) => TaskEventType[e.type]);
const last = (events: TaskEvent[]) => events[events.length - 1]!;

async function submit(workflowType: string, payload: Record<string, unknown>, opts: { token?: string; key?: string; agents?: string[] } = {}) {
  const { workflow } = await mesh.submitWorkflow(
    { workflowType, payload: payload as JsonObject, agents: opts.agents ?? [], idempotencyKey: opts.key ?? "" },
    auth(opts.token ?? alice),
  );
  return workflow!;
}

async function watch(id: string, afterSeq = 0, token = alice): Promise<TaskEvent[]> {
  const events: TaskEvent[] = [];
  for await (const r of mesh.watchTask({ id, afterSeq: BigInt(afterSeq) }, auth(token))) events.push(r.event!);
  return events;
}

async function run(workflowType: string, payload: Record<string, unknown>, opts: Parameters<typeof submit>[2] = {}) {
  const wf = await submit(workflowType, payload, opts);
  const events = await watch(wf.id, 0, opts.token ?? alice);
  return { wf, events, task: (await mesh.getTask({ id: wf.id }, auth(opts.token ?? alice))).task! };
}

async function rejected(workflowType: string, payload: Record<string, unknown>): Promise<ConnectError> {
  try {
    await submit(workflowType, payload);
  } catch (e) {
    return ConnectError.from(e);
  }
  throw new Error("the workflow was accepted");
}

async function addAgent(id: string, capabilities: string[], behave?: ScriptedAgent["behave"]) {
  const a = await startScriptedAgent(behave);
  agents[id] = a;
  await mesh.registerAgent({ agent: { id, name: id, protocol: AgentProtocol.MESHAI_HTTP, endpoint: a.url, capabilities, maxConcurrentTasks: 60 } }, auth(admin));
  return a;
}

for (const target of databaseTargets()) {
describe(`on ${target.name}`, () => {
  beforeAll(async () => {
    pg = target.name === "postgres" ? await freshPostgresDatabase(target.url) : undefined;
    t = await startTestCore({ MESHAI_ALLOW_PRIVATE_NETWORK: "true", MESHAI_HEALTH_CHECK_INTERVAL: "0", MESHAI_WORKFLOW_MAX_STEPS: "12", MESHAI_WORKFLOW_MAX_FAN_OUT: "6", ...(pg ? { MESHAI_DATABASE_URL: pg.url } : {}) });
    admin = await t.token("mcp:read mcp:execute mcp:manage");
    alice = await t.token("mcp:read mcp:execute", "alice@example.com");
    bob = await t.token("mcp:read mcp:execute", "bob@example.com");
    mesh = createClient(MeshService, createGrpcTransport({ baseUrl: t.core.url }));
    await addAgent("writer", ["writing"], (task) => ({ output: `WROTE[${task}]` }));
    await addAgent("reviewer", ["reviewing"], (task) => ({ output: `REVIEWED[${task}]` }));
  }, 60_000);

  afterAll(async () => {
    await t?.close();
    await pg?.drop();
    await Promise.all(Object.values(agents).map((a) => a.close()));
  });

  describe("sequential runs steps in order and each step sees the earlier outputs", () => {
    it("passes outputs through {{previous.output}}, {{steps.<id>.output}} and {{input.<field>}}, streaming step events", async () => {
      const { events, task } = await run("sequential", {
        input: { topic: "durable workflows" },
        steps: [
          { id: "draft", task: "draft about {{input.topic}}", capabilities: ["writing"] },
          { id: "review", task: "review: {{previous.output}}", agent: "reviewer" },
          { id: "final", task: "final of {{steps.draft.output}}", capabilities: ["writing"] },
        ],
      });
      expect(task.kind).toBe(TaskKind.WORKFLOW);
      expect(task.state).toBe(TaskState.COMPLETED);
      expect(task.output).toBe("WROTE[final of WROTE[draft about durable workflows]]");
      expect(agents.reviewer!.received).toContain("review: WROTE[draft about durable workflows]");
      expect(events.map((e) => Number(e.seq))).toEqual(events.map((_, i) => i + 1));
      expect(types(events)[0]).toBe("ACCEPTED");
      expect(last(events).type).toBe(TaskEventType.COMPLETED);
      const started = events.filter((e) => e.type === TaskEventType.STEP_STARTED).map((e) => e.stepId);
      expect(started).toEqual(["draft", "review", "final"]);
      for (const step of ["draft", "review", "final"]) {
        const kinds = events.filter((e) => e.stepId === step).map((e) => TaskEventType[e.type]);
        expect(kinds).toEqual(expect.arrayContaining(["STEP_STARTED", "ROUTED", "OUTPUT", "STEP_FINISHED"]));
        expect(kinds.indexOf("STEP_STARTED")).toBeLessThan(kinds.indexOf("STEP_FINISHED"));
      }
      const routed = events.find((e) => e.type === TaskEventType.ROUTED && e.stepId === "review")!;
      expect(routed.routing?.agentId).toBe("reviewer");
      expect((task.result as any).steps.review.state).toBe("completed");
    });

    it("runs each step as a child task of the workflow (parent_id), listed apart from it by kind", async () => {
      const { wf } = await run("sequential", { steps: [{ task: "one", capabilities: ["writing"] }, { task: "two", capabilities: ["writing"] }] });
      const { tasks } = await mesh.listTasks({ kind: TaskKind.TASK, pageSize: 200 }, auth(alice));
      const children = tasks.filter((x) => x.parentId === wf.id);
      expect(children.map((c) => c.input).sort()).toEqual(["one", "two"]);
      expect(children.every((c) => c.state === TaskState.COMPLETED)).toBe(true);
      const { tasks: wfs } = await mesh.listTasks({ kind: TaskKind.WORKFLOW }, auth(alice));
      expect(wfs.map((w) => w.id)).toContain(wf.id);
    });

    it("leaves {{...}} that is not a reference as it is (code in a task may use braces)", async () => {
    const { task } = await run("sequential", { steps: [{ task: "review <li v-for='item in items'>{{ item.name }}</li> {{ message }}", capabilities: ["writing"] }] });
    expect(task.state).toBe(TaskState.COMPLETED);
    expect(task.output).toBe("WROTE[review <li v-for='item in items'>{{ item.name }}</li> {{ message }}]");
  });

  it("accepts {task} alone as a one-step workflow (what mesh_execute sends)", async () => {
      const { task } = await run("sequential", { task: "just this", capabilities: ["writing"] });
      expect(task.state).toBe(TaskState.COMPLETED);
      expect(task.output).toBe("WROTE[just this]");
    });
  });

  describe("parallel fans steps out at once and an aggregator gathers them", () => {
    it("starts every branch before any answers, then the aggregator sees all outputs via {{dependencies}}", async () => {
      const all = gate();
      const fan = await addAgent("fan", ["fanning"], async (task) => {
        if (task.startsWith("branch")) {
          if (fan.received.filter((x) => x.startsWith("branch")).length >= 3) all.open();
          await all.opened; // only answers once all three branches are in flight: proof they run concurrently
        }
        return { output: `out(${task.slice(0, 40)})` };
      });
      const { task, events } = await run("parallel", {
        steps: [
          { id: "a", task: "branch a", capabilities: ["fanning"] },
          { id: "b", task: "branch b", capabilities: ["fanning"] },
          { id: "c", task: "branch c", capabilities: ["fanning"] },
        ],
        aggregator: { id: "merge", task: "merge these:\n{{dependencies}}", capabilities: ["fanning"] },
      });
      expect(task.state).toBe(TaskState.COMPLETED);
      const merge = fan.received.find((x) => x.startsWith("merge"))!;
      for (const id of ["a", "b", "c"]) expect(merge).toContain(`## ${id}\nout(branch ${id})`);
      expect(task.output).toMatch(/^out\(merge these:/);
      expect(events.filter((e) => e.type === TaskEventType.STEP_FINISHED).at(-1)!.stepId).toBe("merge");
    });

    it("without an aggregator the output holds every branch under its id", async () => {
      const { task } = await run("parallel", { steps: [{ id: "x", task: "px", capabilities: ["writing"] }, { id: "y", task: "py", capabilities: ["writing"] }] });
      expect(task.output).toBe("## x\nWROTE[px]\n\n## y\nWROTE[py]");
    });
  });

  describe("dag runs steps when their dependencies are done, independent branches concurrently", () => {
    it("runs a diamond: b and c in flight together after a, d after both", async () => {
      const both = gate();
      const d = await addAgent("dagger", ["dag_work"], async (task) => {
        if (task === "b" || task === "c") {
          if (d.received.filter((x) => x === "b" || x === "c").length >= 2) both.open();
          await both.opened;
        }
        return { output: task.toUpperCase() };
      });
      const { task } = await run("dag", {
        steps: [
          { id: "d", task: "{{steps.b.output}}+{{steps.c.output}}", depends_on: ["b", "c"], capabilities: ["dag_work"] },
          { id: "b", task: "b", depends_on: ["a"], capabilities: ["dag_work"] },
          { id: "c", task: "c", depends_on: ["a"], capabilities: ["dag_work"] },
          { id: "a", task: "a", capabilities: ["dag_work"] },
        ],
      });
      expect(task.state).toBe(TaskState.COMPLETED);
      expect(d.received[0]).toBe("a");
      expect(d.received.at(-1)).toBe("B+C");
      expect(task.output).toBe("B+C");
    });

    it("rejects a cycle up front with InvalidArgument naming it, and no workflow is created", async () => {
      const before = (await mesh.listTasks({ kind: TaskKind.WORKFLOW, pageSize: 200 }, auth(alice))).tasks.length;
      const e = await rejected("dag", {
        steps: [
          { id: "a", task: "a", depends_on: ["c"], capabilities: ["writing"] },
          { id: "b", task: "b", depends_on: ["a"], capabilities: ["writing"] },
          { id: "c", task: "c", depends_on: ["b"], capabilities: ["writing"] },
        ],
      });
      expect(e.code).toBe(Code.InvalidArgument);
      expect(e.rawMessage).toMatch(/cycle: a -> c -> b -> a/);
      expect((await mesh.listTasks({ kind: TaskKind.WORKFLOW, pageSize: 200 }, auth(alice))).tasks.length).toBe(before);
    });
  });

  describe("payloads are checked up front and errors name the bad field", () => {
    it.each([
      ["sequential", { steps: [] }, /payload\.steps: is required/],
      ["sequential", { steps: [{ task: "ok" }, { capabilities: ["x"] }] }, /payload\.steps\[1\]\.task: is required/],
      ["sequential", { steps: [{ task: "ok", on_error: "explode" }] }, /payload\.steps\[0\]\.on_error: must be "fail", "skip" or "continue"/],
      ["sequential", { steps: [{ task: "ok", retries: 99 }] }, /payload\.steps\[0\]\.retries: must be a whole number from 0 to 5/],
      ["sequential", { steps: [{ task: "use {{steps.later.output}}" }, { id: "later", task: "x" }] }, /payload\.steps\[0\]\.task: \{\{steps\.later\.output\}\} refers to step later, which this step does not wait for/],
      ["sequential", { steps: [{ task: "{{input.missing}}" }], input: { there: 1 } }, /payload\.steps\[0\]\.task: .*no field missing/],
      ["sequential", { steps: [{ task: "{{step.draft.output}}" }] }, /payload\.steps\[0\]\.task: \{\{step\.draft\.output\}\} is not a valid reference/],
    ["sequential", { steps: [{ task: "{{steps.draft}}" }] }, /payload\.steps\[0\]\.task: \{\{steps\.draft\}\} is not a valid reference/],
      ["sequential", { steps: [{ task: "x", depends_on: ["y"] }] }, /payload\.steps\[0\]\.depends_on: only dag/],
      ["sequential", { steps: [{ task: "x", colour: "red" }] }, /payload\.steps\[0\]\.colour: unknown field/],
      ["dag", { steps: [{ id: "a", task: "x", depends_on: ["nope"] }] }, /payload\.steps\[0\]\.depends_on\[0\]: no step has the id "nope"/],
      ["dag", { steps: [{ id: "a", task: "x" }, { id: "a", task: "y" }] }, /payload\.steps\[1\]\.id: "a" is used by another step/],
      ["teleport", { steps: [{ task: "x" }] }, /workflow_type: "teleport" is neither a workflow type \(sequential, parallel, dag, consensus, hierarchical, map_reduce\) nor a template/],
    ])("%s %j", async (type, payload, message) => {
      const e = await rejected(type, payload);
      expect(e.code).toBe(Code.InvalidArgument);
      expect(e.rawMessage).toMatch(message);
    });
  });

  describe("limits keep one workflow from exhausting the platform", () => {
    it("refuses more steps than MESHAI_WORKFLOW_MAX_STEPS and a wider fan-out than MESHAI_WORKFLOW_MAX_FAN_OUT", async () => {
      const many = Array.from({ length: 13 }, (_, i) => ({ task: `s${i}` }));
      expect((await rejected("sequential", { steps: many })).rawMessage).toMatch(/payload\.steps: has 13 steps; this server allows at most 12 \(MESHAI_WORKFLOW_MAX_STEPS\)/);
      const wide = Array.from({ length: 7 }, (_, i) => ({ task: `p${i}` }));
      expect((await rejected("parallel", { steps: wide })).rawMessage).toMatch(/at most 6 \(MESHAI_WORKFLOW_MAX_FAN_OUT\)/);
      const dagWide = Array.from({ length: 7 }, (_, i) => ({ id: `n${i}`, task: `n${i}` }));
      expect((await rejected("dag", { steps: dagWide })).rawMessage).toMatch(/MESHAI_WORKFLOW_MAX_FAN_OUT/);
    });

    it("validates the limits' environment variables at start", () => {
      expect(() => loadConfig({ MESHAI_WORKFLOW_MAX_STEPS: "0" })).toThrow(/MESHAI_WORKFLOW_MAX_STEPS/);
      expect(() => loadConfig({ MESHAI_WORKFLOW_MAX_FAN_OUT: "wide" })).toThrow(/MESHAI_WORKFLOW_MAX_FAN_OUT/);
      expect(() => loadConfig({ MESHAI_WORKFLOW_TIMEOUT: "-5" })).toThrow(/MESHAI_WORKFLOW_TIMEOUT/);
      expect(loadConfig({ MESHAI_WORKFLOW_TIMEOUT: "90" }).workflowTimeoutSeconds).toBe(90);
    });

    it("fails a workflow that runs past payload.timeout_seconds, stopping its running step", async () => {
      const hang = await addAgent("hanger", ["hanging"], () => new Promise(() => undefined));
      const { task, events } = await run("sequential", { timeout_seconds: 1, steps: [{ id: "h", task: "hang", capabilities: ["hanging"] }, { id: "never", task: "never", capabilities: ["hanging"] }] });
      expect(task.state).toBe(TaskState.FAILED);
      expect(task.error).toMatch(/timed out after 1 s/);
      expect((task.result as any).steps.never.state).toBe("skipped");
      expect(hang.received).toEqual(["hang"]);
      expect(last(events).type).toBe(TaskEventType.FAILED);
    });
  });

  describe("on_error decides what a failed step does to the workflow", () => {
    it("fail (the default): the workflow fails naming the step and later steps never run", async () => {
      await addAgent("broken", ["breaking"], () => ({ fail: "disk on fire" }));
      const { task } = await run("sequential", { steps: [{ id: "bad", task: "break", capabilities: ["breaking"] }, { id: "after", task: "after-fail", capabilities: ["writing"] }] });
      expect(task.state).toBe(TaskState.FAILED);
      expect(task.error).toMatch(/step bad failed \(on_error fail\): .*disk on fire/);
      expect((task.result as any).steps.after.state).toBe("skipped");
      expect(agents.writer!.received).not.toContain("after-fail");
    });

    it("fail in a parallel branch cancels the branches still running", async () => {
      const stuck = await addAgent("stuck", ["stuck_work"], () => new Promise(() => undefined));
      await addAgent("broken-too", ["breaking_too"], () => ({ fail: "also on fire" }));
      const wf = await submit("parallel", { steps: [{ id: "hang", task: "hang on", capabilities: ["stuck_work"] }, { id: "bad", task: "break later", agent: "broken-too" }] });
      await stuck.waitFor((x) => x === "hang on");
      const events = await watch(wf.id);
      const { task } = await mesh.getTask({ id: wf.id }, auth(alice));
      expect(task!.state).toBe(TaskState.FAILED);
      expect(task!.error).toMatch(/step bad failed/);
      expect((task!.result as any).steps.hang.state).toBe("skipped");
      expect(last(events).type).toBe(TaskEventType.FAILED);
      await expect.poll(() => stuck.aborted).toEqual(["hang on"]);
      const children = (await mesh.listTasks({ kind: TaskKind.TASK, pageSize: 200 }, auth(alice))).tasks.filter((x) => x.parentId === wf.id && x.input === "hang on");
      expect(children.map((c) => TaskState[c.state])).toEqual(["CANCELLED"]);
    });

    it("skip: the step is marked skipped and the workflow goes on", async () => {
      const { task } = await run("sequential", { steps: [{ id: "bad", task: "break", agent: "broken", on_error: "skip" }, { id: "after", task: "after-skip [{{previous.output}}]", capabilities: ["writing"] }] });
      expect(task.state).toBe(TaskState.COMPLETED);
      expect((task.result as any).steps.bad.state).toBe("skipped");
      expect(task.output).toBe("WROTE[after-skip []]");
    });

    it("continue: the step is marked failed, the next step runs and can read its error", async () => {
      const { task } = await run("sequential", { steps: [{ id: "bad", task: "break", agent: "broken", on_error: "continue" }, { id: "after", task: "recover from: {{steps.bad.error}}", capabilities: ["writing"] }] });
      expect(task.state).toBe(TaskState.COMPLETED);
      expect((task.result as any).steps.bad.state).toBe("failed");
      expect(task.output).toMatch(/^WROTE\[recover from: .*disk on fire/);
    });
  });

  describe("retries and fallback agents", () => {
    it("retries a failing step (a new child task) until it succeeds", async () => {
      const flaky = await addAgent("flaky", ["flaking"], (_task, n) => (n <= 2 ? { fail: `hiccup ${n}` } : { output: "finally" }));
      const { task, events } = await run("sequential", { steps: [{ id: "f", task: "try", agent: "flaky", retries: 2 }] });
      expect(task.state).toBe(TaskState.COMPLETED);
      expect(task.output).toBe("finally");
      // The executor tries an agent twice per task; the step's retry is a second child task.
      expect(flaky.received.length).toBe(3);
      expect(events.some((e) => e.type === TaskEventType.RETRY && e.stepId === "f" && /try 2 of 3/.test(e.message))).toBe(true);
    });

    it("falls back to the next agent when the first has used up its tries", async () => {
      await addAgent("dead", ["backup_work"], () => ({ fail: "gone" }));
      await addAgent("backup", ["backup_work"], () => ({ output: "backup answered" }));
      const { task, events } = await run("sequential", { steps: [{ id: "s", task: "needs help", agent: "dead", fallback_agents: ["backup"], retries: 0 }] });
      expect(task.state).toBe(TaskState.COMPLETED);
      expect(task.output).toBe("backup answered");
      expect((task.result as any).steps.s.agent_id).toBe("backup");
      expect(events.filter((e) => e.stepId === "s" && e.type === TaskEventType.ROUTED).map((e) => e.agentId)).toEqual(["dead", "backup"]);
    });
  });

  describe("CancelTask on a workflow stops running steps and skips the rest", () => {
    it("cancels mid-run: the agent call is aborted, later steps never start, the stream ends CANCELLED", async () => {
      const slow = await addAgent("slowpoke", ["slow_work"], () => new Promise(() => undefined));
      const wf = await submit("sequential", { steps: [{ id: "s1", task: "slow one", capabilities: ["slow_work"] }, { id: "s2", task: "slow two", capabilities: ["slow_work"] }] });
      await slow.waitFor((x) => x === "slow one");
      const { task } = await mesh.cancelTask({ id: wf.id, reason: "changed my mind" }, auth(alice));
      expect(task!.state).toBe(TaskState.CANCELLED);
      const events = await watch(wf.id);
      expect(last(events).type).toBe(TaskEventType.CANCELLED);
      expect(last(events).message).toMatch(/changed my mind/);
      expect((task!.result as any).steps.s2.state).toBe("skipped");
      expect(slow.received).toEqual(["slow one"]);
      await expect.poll(() => slow.aborted).toEqual(["slow one"]);
      const children = (await mesh.listTasks({ kind: TaskKind.TASK, pageSize: 200 }, auth(alice))).tasks.filter((x) => x.parentId === wf.id);
      expect(children.map((c) => TaskState[c.state])).toEqual(["CANCELLED"]);
    });

    it("another user cannot see or cancel it (NOT_FOUND)", async () => {
      const wf = await submit("sequential", { steps: [{ task: "mine", capabilities: ["writing"] }] });
      await expect(mesh.cancelTask({ id: wf.id }, auth(bob))).rejects.toMatchObject({ code: Code.NotFound });
      await expect(mesh.getTask({ id: wf.id }, auth(bob))).rejects.toMatchObject({ code: Code.NotFound });
      await watch(wf.id);
    });
  });

  describe("WatchTask(after_seq) resumes a workflow's events like a task's", () => {
    it("replays only the events after the given seq", async () => {
      const { wf, events } = await run("sequential", { steps: [{ task: "w1", capabilities: ["writing"] }, { task: "w2", capabilities: ["writing"] }] });
      const tail = await watch(wf.id, 3);
      expect(tail.map((e) => Number(e.seq))).toEqual(events.slice(3).map((e) => Number(e.seq)));
      await expect(watch(wf.id, events.length + 5)).rejects.toMatchObject({ code: Code.OutOfRange });
    });
  });

  describe("idempotency_key: a retried submit returns the same workflow", () => {
    it("runs once for two submits with the same key", async () => {
      const counted = await addAgent("once", ["once_work"], (task) => ({ output: `ran ${task}` }));
      const payload = { steps: [{ task: "exactly once", capabilities: ["once_work"] }] };
      const [a, b] = await Promise.all([submit("sequential", payload, { key: "retry-me" }), submit("sequential", payload, { key: "retry-me" })]);
      expect(b.id).toBe(a.id);
      await watch(a.id);
      const c = await submit("sequential", payload, { key: "retry-me" });
      expect(c.id).toBe(a.id);
      expect(c.state).toBe(TaskState.COMPLETED);
      expect(counted.received).toEqual(["exactly once"]);
    });
  });
});
}

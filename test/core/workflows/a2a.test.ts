import type { JsonObject } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentProtocol, MeshService, type TaskEvent, TaskEventType, TaskState } from "../../../gen/meshai/v1/mesh_pb.js";
import { startTestCore, type TestCore } from "../../support/core.js";
import { type A2aLog, type Peer, startA2aAgent } from "../mesh/peers.js";

let t: TestCore;
let admin: string;
let alice: string;
let mesh: ReturnType<typeof createClient<typeof MeshService>>;
let streamer: Peer & { log: A2aLog };
let poller: Peer & { log: A2aLog };
let slow: Peer & { log: A2aLog };
const auth = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

async function watch(id: string): Promise<TaskEvent[]> {
  const events: TaskEvent[] = [];
  for await (const r of mesh.watchTask({ id, afterSeq: 0n }, auth(alice))) events.push(r.event!);
  return events;
}

beforeAll(async () => {
  [streamer, poller, slow] = await Promise.all([
    startA2aAgent("stream", { streaming: true, name: "streamer" }),
    startA2aAgent("stream", { streaming: false, name: "poller" }),
    startA2aAgent("slow", { streaming: true, name: "slow" }),
  ]);
  t = await startTestCore({ MESHAI_ALLOW_PRIVATE_NETWORK: "true", MESHAI_HEALTH_CHECK_INTERVAL: "0" });
  admin = await t.token("mcp:read mcp:execute mcp:manage");
  alice = await t.token("mcp:read mcp:execute", "alice@example.com");
  mesh = createClient(MeshService, createGrpcTransport({ baseUrl: t.core.url }));
  for (const [id, peer] of [["a2a-streamer", streamer], ["a2a-poller", poller], ["a2a-slow", slow]] as const) {
    await mesh.registerAgent({ agent: { id, name: id, protocol: AgentProtocol.A2A, endpoint: peer.url, capabilities: [id.replace("a2a-", "") + "_work"], maxConcurrentTasks: 8 } }, auth(admin));
  }
}, 60_000);

afterAll(async () => {
  await t?.close();
  await Promise.all([streamer, poller, slow].map((p) => p?.close()));
});

describe("workflows over real A2A agents (@a2a-js/sdk servers on loopback)", () => {
  it("a dag over a streaming and a polled A2A agent: chunks arrive as step OUTPUT events and outputs flow on", async () => {
    const { workflow } = await mesh.submitWorkflow(
      {
        workflowType: "dag",
        payload: {
          steps: [
            { id: "s", task: "stream me", agent: "a2a-streamer" },
            { id: "p", task: "poll me", agent: "a2a-poller" },
            { id: "join", task: "join [{{steps.s.output}}] and [{{steps.p.output}}]", depends_on: ["s", "p"], agent: "a2a-streamer" },
          ],
        } as JsonObject,
      },
      auth(alice),
    );
    const events = await watch(workflow!.id);
    const { task } = await mesh.getTask({ id: workflow!.id }, auth(alice));
    expect(task!.state).toBe(TaskState.COMPLETED);
    expect(streamer.log.received).toContain("join [Hello from A2A, you said: stream me] and [Hello from A2A, you said: poll me]");
    expect(task!.output).toBe("Hello from A2A, you said: join [Hello from A2A, you said: stream me] and [Hello from A2A, you said: poll me]");
    expect(events.filter((e) => e.type === TaskEventType.OUTPUT && e.stepId === "s").length).toBeGreaterThan(0);
  });

  async function runToEnd(workflowType: string, payload: object) {
    const { workflow } = await mesh.submitWorkflow({ workflowType, payload: payload as JsonObject }, auth(alice));
    const events = await watch(workflow!.id);
    const { task } = await mesh.getTask({ id: workflow!.id }, auth(alice));
    return { task: task!, events };
  }

  it("a sequential workflow over A2A agents hands each step's output to the next", async () => {
    const { task } = await runToEnd("sequential", {
      steps: [
        { id: "one", task: "first", agent: "a2a-poller" },
        { id: "two", task: "then [{{previous.output}}]", agent: "a2a-streamer" },
      ],
    });
    expect(task.state).toBe(TaskState.COMPLETED);
    expect(task.output).toBe("Hello from A2A, you said: then [Hello from A2A, you said: first]");
  });

  it("a parallel workflow over A2A agents gathers every branch in its aggregator", async () => {
    const { task, events } = await runToEnd("parallel", {
      steps: [
        { id: "left", task: "left", agent: "a2a-streamer" },
        { id: "right", task: "right", agent: "a2a-poller" },
      ],
      aggregator: { id: "merge", task: "merge {{dependencies}}", agent: "a2a-poller" },
    });
    expect(task.state).toBe(TaskState.COMPLETED);
    expect(task.output).toContain("you said: left");
    expect(task.output).toContain("you said: right");
    expect(new Set(events.filter((e) => e.type === TaskEventType.STEP_FINISHED).map((e) => e.stepId))).toEqual(new Set(["left", "right", "merge"]));
  });

  it("a map_reduce workflow maps items over A2A agents in turn and reduces them", async () => {
    const { task } = await runToEnd("map_reduce", {
      items: ["apples", "pears", "plums"],
      map: { task: "count {{item}}" },
      agents: ["a2a-streamer", "a2a-poller"],
      reduce: { task: "total {{dependencies}}", agent: "a2a-poller" },
    });
    expect(task.state).toBe(TaskState.COMPLETED);
    for (const fruit of ["apples", "pears", "plums"]) expect(task.output).toContain(`count ${fruit}`);
    expect(streamer.log.received.some((r) => r.startsWith("count "))).toBe(true);
    expect(poller.log.received.some((r) => r.startsWith("count "))).toBe(true);
  });

  it("a hierarchical workflow runs the A2A manager's planned sub-tasks on A2A workers, then synthesises", async () => {
    const { task, events } = await runToEnd("hierarchical", {
      task: '["inspect module a", "inspect module b"]',
      manager: { agent: "a2a-poller" },
      workers: { agents: ["a2a-streamer"] },
    });
    expect(task.state).toBe(TaskState.COMPLETED);
    const workerSteps = new Set(events.filter((e) => e.type === TaskEventType.STEP_STARTED).map((e) => e.stepId));
    expect(workerSteps.size).toBeGreaterThanOrEqual(3);
    expect(streamer.log.received.some((r) => r.includes("inspect module a"))).toBe(true);
    expect(streamer.log.received.some((r) => r.includes("inspect module b"))).toBe(true);
  });

  it("consensus across two A2A agents shows their agreement", async () => {
    const { workflow } = await mesh.submitWorkflow({ workflowType: "consensus", payload: { task: "same question", agents: ["a2a-streamer", "a2a-poller"] } as JsonObject }, auth(alice));
    await watch(workflow!.id);
    const { task } = await mesh.getTask({ id: workflow!.id }, auth(alice));
    expect(task!.state).toBe(TaskState.COMPLETED);
    expect((task!.result as any).consensus).toMatchObject({ answered: 2, agreement: 1, majority: true });
  });

  it("cancelling the workflow sends A2A CancelTask to the agent running the current step", async () => {
    const { workflow } = await mesh.submitWorkflow(
      { workflowType: "sequential", payload: { steps: [{ id: "long", task: "take your time", agent: "a2a-slow" }, { id: "next", task: "never", agent: "a2a-streamer" }] } as JsonObject },
      auth(alice),
    );
    await expect.poll(() => slow.log.received.includes("take your time")).toBe(true);
    await mesh.cancelTask({ id: workflow!.id, reason: "user stopped it" }, auth(alice));
    const events = await watch(workflow!.id);
    expect(events.at(-1)!.type).toBe(TaskEventType.CANCELLED);
    await expect.poll(() => slow.log.cancelled.length).toBe(1);
    expect(streamer.log.received).not.toContain("never");
  });
});

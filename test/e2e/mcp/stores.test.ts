import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { SessionEventStore } from "../../../src/facade/mcp/event-store.js";
import { toolFailure } from "../../../src/facade/mcp/server.js";
import { McpTaskStore } from "../../../src/facade/mcp/task-store.js";
import { TOOLS_BY_NAME } from "../../../src/facade/mcp/tools.js";

const note = (n: number): JSONRPCMessage => ({ jsonrpc: "2.0", method: "notifications/progress", params: { progressToken: 1, progress: n } });

describe("the session event store replays a stream after any of its event ids, within a bounded memory", () => {
  it("gives unique ids per session and replays only the same stream's later events", async () => {
    const store = new SessionEventStore();
    const ids = [await store.storeEvent("A", note(1)), await store.storeEvent("B", note(100)), await store.storeEvent("A", note(2)), await store.storeEvent("A", note(3))];
    expect(new Set(ids).size).toBe(4);
    const a1 = ids[0]!;
    expect(await store.getStreamIdForEventId(a1)).toBe("A");
    const sent: unknown[] = [];
    expect(await store.replayEventsAfter(a1, { send: async (_id, m) => void sent.push((m as any).params.progress) })).toBe("A");
    expect(sent).toEqual([2, 3]);
  });

  it("forgets the oldest events past its limit and then calls their ids unknown", async () => {
    const store = new SessionEventStore({ maxEvents: 3 });
    const first = await store.storeEvent("A", note(1));
    for (let i = 2; i <= 5; i++) await store.storeEvent("A", note(i));
    expect(store.size).toBe(3);
    expect(await store.getStreamIdForEventId(first)).toBeUndefined();
    await expect(store.replayEventsAfter(first, { send: async () => {} })).rejects.toThrow(/unknown/);
  });
});

describe("answered calls keep only a short tail of events, running calls keep theirs", () => {
  const answer = (id: number): JSONRPCMessage => ({ jsonrpc: "2.0", id, result: { content: [] } });

  it("forgets the oldest answered calls past maxFinishedEvents, never a call still running", async () => {
    const store = new SessionEventStore({ maxEvents: 1000, maxFinishedEvents: 4 });
    const running = await store.storeEvent("live", note(1));
    const firsts: string[] = [];
    for (let call = 0; call < 5; call++) {
      firsts.push(await store.storeEvent(`call${call}`, note(1)));
      await store.storeEvent(`call${call}`, answer(call));
    }
    // Two events per answered call, four kept: the last two calls.
    expect(await store.getStreamIdForEventId(firsts[2]!)).toBeUndefined();
    expect(await store.getStreamIdForEventId(firsts[3]!)).toBe("call3");
    expect(await store.getStreamIdForEventId(firsts[4]!)).toBe("call4");
    expect(await store.getStreamIdForEventId(running)).toBe("live");
    expect(store.size).toBe(5);
    // A client that lost the answer of the latest call gets it on resuming.
    const sent: unknown[] = [];
    await store.replayEventsAfter(firsts[4]!, { send: async (_id, m) => void sent.push(m) });
    expect(sent).toEqual([answer(4)]);
  });

  it("keeps the latest answered call whole even when it alone is longer than the tail", async () => {
    const store = new SessionEventStore({ maxFinishedEvents: 2 });
    const first = await store.storeEvent("long", note(1));
    for (let i = 2; i <= 6; i++) await store.storeEvent("long", note(i));
    await store.storeEvent("long", answer(1));
    expect(await store.getStreamIdForEventId(first)).toBe("long");
    await store.storeEvent("next", answer(2));
    expect(await store.getStreamIdForEventId(first)).toBeUndefined();
    expect(store.size).toBe(1);
  });
});

describe("MCP tasks are bound to the subject that created them", () => {
  it("another subject cannot get, list, cancel or read a task", async () => {
    const tasks = new McpTaskStore();
    const mine = tasks.viewFor("alice");
    const theirs = tasks.viewFor("bob");
    const t = await mine.createTask({ ttl: 60_000 }, 1, { method: "tools/call" });
    expect(await theirs.getTask(t.taskId)).toBeNull();
    expect((await theirs.listTasks()).tasks).toEqual([]);
    await expect(theirs.updateTaskStatus(t.taskId, "cancelled")).rejects.toThrow(/not found/);
    await expect(theirs.getTaskResult(t.taskId)).rejects.toThrow(/not found/);
    expect((await mine.getTask(t.taskId))?.status).toBe("working");
  });

  it("cancelling runs the task's stop hook once and records a cancelled result", async () => {
    const tasks = new McpTaskStore();
    const mine = tasks.viewFor("alice");
    const t = await mine.createTask({}, 1, { method: "tools/call" });
    let stopped = 0;
    tasks.onCancel(t.taskId, () => stopped++);
    await mine.updateTaskStatus(t.taskId, "cancelled", "user asked");
    expect(stopped).toBe(1);
    expect((await mine.getTaskResult(t.taskId)).isError).toBe(true);
    await expect(mine.storeTaskResult(t.taskId, "completed", { content: [] })).rejects.toThrow(/ended/);
  });

  it("keeps at most maxPerSubject tasks per user, forgetting finished ones first", async () => {
    const tasks = new McpTaskStore({ maxPerSubject: 2 });
    const mine = tasks.viewFor("alice");
    const a = await mine.createTask({}, 1, { method: "tools/call" });
    const b = await mine.createTask({}, 2, { method: "tools/call" });
    await mine.storeTaskResult(b.taskId, "completed", { content: [] });
    await mine.createTask({}, 3, { method: "tools/call" });
    expect(await mine.getTask(b.taskId)).toBeNull();
    expect(await mine.getTask(a.taskId)).not.toBeNull();
  });
});

describe("a core answer a tool cannot use becomes a clear tool error, never a protocol error", () => {
  const caller = { token: "t", subject: "s", clientId: "c", scopes: ["mcp:read"], expiresAt: 0 };
  const spec = TOOLS_BY_NAME.get("submit_workflow")!;

  it("Unimplemented says the server does not offer it yet", () => {
    const r = toolFailure(new ConnectError("SubmitWorkflow is not implemented", Code.Unimplemented), spec, caller, "http://localhost:8080");
    expect(r).toEqual({ content: [{ type: "text", text: expect.stringMatching(/^submit_workflow: this MeshAI server does not offer this yet/) }], isError: true });
  });

  it("PermissionDenied carries the step-up challenge for the tool's scope", () => {
    const r = toolFailure(new ConnectError("needs mcp:execute", Code.PermissionDenied), spec, caller, "http://localhost:8080");
    expect(r.isError).toBe(true);
    expect((r._meta as any)["mcp/www_authenticate"][0]).toMatch(/^Bearer error="insufficient_scope", scope="mcp:execute mcp:read"/);
  });

  it("an internal failure shows no internals", () => {
    const r = toolFailure(new ConnectError("db password is hunter2", Code.Internal), spec, caller, "http://localhost:8080");
    expect((r.content[0] as any).text).not.toMatch(/hunter2/);
  });
});

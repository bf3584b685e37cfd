import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { CallToolResultSchema, CreateTaskResultSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type McpHarness, messagesOf, rawPost, rawSession, startMcpHarness } from "./harness.js";
import { type SlowAgent, startSlowAgent } from "./slow-agent.js";

// Every tool through the MCP SDK's own client, against the real core and its built-in agents,
// plus a loopback stand-in agent (MeshAI HTTP wire format) for work that must be slow.
let h: McpHarness;
let slow: SlowAgent;
let admin: Client;
let adminToken: string;

const ALL = "mcp:read mcp:execute mcp:manage";

beforeAll(async () => {
  slow = await startSlowAgent();
  h = await startMcpHarness({}, { MESHAI_ALLOW_PRIVATE_NETWORK: "true" });
  adminToken = await h.token(ALL, "admin@example.com");
  admin = await h.client(adminToken);
  const reg: any = await admin.callTool({
    name: "register_agent",
    arguments: { id: "slow-agent", name: "Slow Agent", protocol: "meshai_http", endpoint: slow.url, capabilities: ["slow_work"], framework: "meshai" },
  });
  expect(reg.isError, JSON.stringify(reg)).toBeFalsy();
});
afterAll(async () => {
  await h?.close();
  await slow?.close();
});

/** The result's text block must be the same JSON as its structuredContent. */
function structured(result: any): any {
  expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
  expect(JSON.parse(result.content[0].text)).toEqual(result.structuredContent);
  return result.structuredContent;
}

async function until<T>(probe: () => Promise<T | undefined>): Promise<T> {
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe("tools/list describes every tool for a model", () => {
  it("lists the ten tools with descriptions, schemas and annotations", async () => {
    const { tools } = await admin.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(
      ["cancel_task", "fetch", "get_task", "list_agents", "mesh_execute", "register_agent", "remove_agent", "search", "submit_workflow", "update_agent"],
    );
    for (const t of tools) {
      expect(t.description!.length).toBeGreaterThan(60);
      expect(t.inputSchema.type).toBe("object");
      expect(t.outputSchema?.type).toBe("object");
      expect(t.annotations).toBeDefined();
    }
    const byName = new Map(tools.map((t) => [t.name, t]));
    for (const read of ["search", "fetch", "list_agents", "get_task"]) expect(byName.get(read)!.annotations!.readOnlyHint).toBe(true);
    expect(byName.get("remove_agent")!.annotations!.destructiveHint).toBe(true);
    expect(byName.get("mesh_execute")!.execution).toEqual({ taskSupport: "optional" });
    expect(byName.get("submit_workflow")!.execution).toEqual({ taskSupport: "optional" });
    expect(byName.get("search")!.inputSchema.required).toEqual(["query"]);
  });
});

describe("search and fetch answer in ChatGPT's exact shapes", () => {
  it("search returns {results: [{id, title, url}]} with non-empty urls", async () => {
    const out = structured(await admin.callTool({ name: "search", arguments: { query: "security scanner" } }));
    expect(out.results.length).toBeGreaterThan(0);
    for (const r of out.results) {
      expect(Object.keys(r).sort()).toEqual(["id", "title", "url"]);
      expect(r.url).toMatch(/^https?:\/\/\S+/);
    }
  });

  it("fetch returns {id, title, text, url, metadata?} for a search result", async () => {
    const { results } = structured(await admin.callTool({ name: "search", arguments: { query: "security", type: "agents" } }));
    const out = structured(await admin.callTool({ name: "fetch", arguments: { id: results[0].id } }));
    expect(out.id).toBe(results[0].id);
    expect(out.title).toBeTruthy();
    expect(out.text.length).toBeGreaterThan(0);
    expect(out.url).toBe(results[0].url);
  });

  it("fetch of an unknown id is a tool error naming it, not a protocol error", async () => {
    const r: any = await admin.callTool({ name: "fetch", arguments: { id: "agent:nobody" } });
    expect(r.isError).toBe(true);
    expect(r.content[0].text).toMatch(/nobody/);
  });

  it("bad arguments are a tool error naming the field", async () => {
    const r: any = await admin.callTool({ name: "search", arguments: { query: 42 } });
    expect(r.isError).toBe(true);
    expect(r.content[0].text).toMatch(/query/);
  });
});

describe("list_agents filters the registry", () => {
  it("by capability", async () => {
    const out = structured(await admin.callTool({ name: "list_agents", arguments: { capabilities: ["security_analysis"] } }));
    expect(out.agents.map((a: any) => a.id)).toEqual(["builtin.security-scanner"]);
    expect(out.agents[0].protocol).toBe("builtin");
  });

  it("by framework", async () => {
    const out = structured(await admin.callTool({ name: "list_agents", arguments: { framework: "MeshAI" } }));
    expect(out.agents.map((a: any) => a.id)).toContain("slow-agent");
  });
});

describe("agent administration tools change the registry (mcp:manage)", () => {
  it("registers, updates and removes an agent", async () => {
    const reg = structured(
      await admin.callTool({
        name: "register_agent",
        arguments: { id: "temp-agent", name: "Temp", protocol: "openai", endpoint: "https://llm.example/v1", capabilities: ["text_generation"], bearer_token: "sk-test" },
      }),
    );
    expect(reg.agent).toMatchObject({ id: "temp-agent", protocol: "openai", has_credentials: true });
    const upd = structured(await admin.callTool({ name: "update_agent", arguments: { id: "temp-agent", description: "changed", enabled: false } }));
    expect(upd.agent).toMatchObject({ description: "changed", enabled: false, name: "Temp" });
    expect(structured(await admin.callTool({ name: "remove_agent", arguments: { id: "temp-agent" } }))).toEqual({ id: "temp-agent", removed: true });
    const list = structured(await admin.callTool({ name: "list_agents", arguments: { include_disabled: true } }));
    expect(list.agents.map((a: any) => a.id)).not.toContain("temp-agent");
  });
});

describe("mesh_execute streams progress and returns output, agent, routing and task id", () => {
  it("sends strictly increasing progress notifications before the result", async () => {
    const seen: { progress: number; message?: string }[] = [];
    let resultAt = -1;
    const result: any = await admin.callTool(
      { name: "mesh_execute", arguments: { task: "Check this code for security vulnerabilities:\n```js\neval(userInput)\n```" } },
      undefined,
      { onprogress: (p) => seen.push(p) },
    );
    resultAt = seen.length;
    const out = structured(result);
    expect(resultAt).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.progress).toBeGreaterThan(seen[i - 1]!.progress);
    expect(seen[0]!.message).toMatch(/^accepted/);
    expect(seen.some((p) => /^routed/.test(p.message ?? ""))).toBe(true);
    expect(out).toMatchObject({ kind: "task", state: "completed", agent_id: "builtin.security-scanner", error: "" });
    expect(out.task_id).toMatch(/\S/);
    expect(out.output).toMatch(/CWE-95|eval/i);
    expect(out.routing).toMatchObject({ agent_id: "builtin.security-scanner", required_capabilities: ["security_analysis"] });

    const task = structured(await admin.callTool({ name: "get_task", arguments: { id: out.task_id } }));
    expect(task).toMatchObject({ id: out.task_id, state: "completed", agent_id: "builtin.security-scanner" });
  });

  it("reports a task no agent can take as a tool error with the router's reason", async () => {
    const r: any = await admin.callTool({ name: "mesh_execute", arguments: { task: "do it", capabilities: ["teleportation"] } });
    expect(r.isError).toBe(true);
    expect(r.content.map((c: any) => c.text).join(" ")).toMatch(/teleportation/);
  });
});

describe("cancellation reaches the agent", () => {
  it("notifications/cancelled (the client aborting its call) cancels the gRPC stream and the task", async () => {
    slow.hold();
    const ac = new AbortController();
    const n = slow.received.length + 1;
    const call = admin.callTool({ name: "mesh_execute", arguments: { task: "slow job", capabilities: ["slow_work"] } }, undefined, { signal: ac.signal });
    const taskId = await slow.arrived(n);
    ac.abort("user stopped it");
    await expect(call).rejects.toThrow();
    await slow.abandonedCall(taskId);
    const task = await until(async () => {
      const t = structured(await admin.callTool({ name: "get_task", arguments: { id: taskId } }));
      return t.state === "cancelled" ? t : undefined;
    });
    expect(task.state).toBe("cancelled");
  });

  it("cancel_task stops a running task and the call following it ends cancelled", async () => {
    slow.hold();
    const n = slow.received.length + 1;
    const call = admin.callTool({ name: "mesh_execute", arguments: { task: "slow job 2", capabilities: ["slow_work"] } });
    const taskId = await slow.arrived(n);
    const other = await h.client(adminToken);
    const cancelled = structured(await other.callTool({ name: "cancel_task", arguments: { id: taskId, reason: "changed my mind" } }));
    expect(cancelled).toMatchObject({ id: taskId, state: "cancelled" });
    const result: any = await call;
    expect(result.structuredContent).toMatchObject({ task_id: taskId, state: "cancelled" });
    expect(result.isError).toBe(true);
  });

  it("a dropped connection on a stream that cannot resume cancels the task", async () => {
    slow.hold();
    const id = await rawSession(h.url, adminToken, "2025-06-18");
    const n = slow.received.length + 1;
    const ac = new AbortController();
    const res = await rawPost(
      h.url,
      { jsonrpc: "2.0", id: 5, method: "tools/call", params: { name: "mesh_execute", arguments: { task: "slow job 3", capabilities: ["slow_work"] } } },
      { authorization: `Bearer ${adminToken}`, "mcp-session-id": id, "mcp-protocol-version": "2025-06-18" },
    );
    const reader = res.body!.getReader();
    const taskId = await slow.arrived(n);
    await reader.cancel();
    ac.abort();
    await slow.abandonedCall(taskId);
  });

  it("a dropped resumable stream keeps the task, and Last-Event-ID replays every event and the result", async () => {
    slow.hold();
    const id = await rawSession(h.url, adminToken, "2025-11-25");
    const n = slow.received.length + 1;
    const res = await rawPost(
      h.url,
      { jsonrpc: "2.0", id: 6, method: "tools/call", params: { name: "mesh_execute", arguments: { task: "slow job 4", capabilities: ["slow_work"] }, _meta: { progressToken: "p6" } } },
      { authorization: `Bearer ${adminToken}`, "mcp-session-id": id, "mcp-protocol-version": "2025-11-25" },
    );
    const reader = res.body!.getReader();
    let text = "";
    while (!/^id: (\S+)$/m.test(text)) text += new TextDecoder().decode((await reader.read()).value);
    const firstId = /^id: (\S+)$/m.exec(text)![1]!;
    const taskId = await slow.arrived(n);
    await reader.cancel(); // the connection drops mid-task
    slow.release("finished while you were away");
    // Like a real client, retry while the server has not yet noticed the old connection is gone (409).
    const replay = await until(async () => {
      const r = await fetch(h.url, {
        headers: { authorization: `Bearer ${adminToken}`, "mcp-session-id": id, "mcp-protocol-version": "2025-11-25", accept: "text/event-stream", "last-event-id": firstId },
      });
      if (r.status !== 409) return r;
      await r.body?.cancel();
      return undefined;
    });
    expect(replay.status).toBe(200);
    const r2 = replay.body!.getReader();
    let got = "";
    while (!got.includes('"id":6')) got += new TextDecoder().decode((await r2.read()).value);
    await r2.cancel();
    const msgs = got.split("\n\n").flatMap((b) => b.split("\n").filter((l) => l.startsWith("data: {")).map((l) => JSON.parse(l.slice(6))));
    const progress = msgs.filter((m) => m.method === "notifications/progress").map((m) => m.params.progress);
    expect(progress.length).toBeGreaterThanOrEqual(3);
    expect([...progress].sort((a, b) => a - b)).toEqual(progress);
    const final = msgs.find((m) => m.id === 6);
    expect(final.result.structuredContent).toMatchObject({ task_id: taskId, state: "completed", output: "finished while you were away" });
    expect(slow.abandoned).not.toContain(taskId);
  });
});

describe("MCP tasks run mesh_execute in the background, bound to the caller", () => {
  it("creates a task, reports it working, and hands over the result when the agent answers", async () => {
    slow.hold();
    const n = slow.received.length + 1;
    const created = await admin.request(
      { method: "tools/call", params: { name: "mesh_execute", arguments: { task: "background job", capabilities: ["slow_work"] }, task: { ttl: 60_000 } } },
      CreateTaskResultSchema,
    );
    const taskId = created.task.taskId;
    expect(created.task.status).toBe("working");
    await slow.arrived(n);
    expect((await admin.experimental.tasks.getTask(taskId)).status).toBe("working");
    expect((await admin.experimental.tasks.listTasks()).tasks.map((t) => t.taskId)).toContain(taskId);

    // Another user cannot see it.
    const mallory = await h.client(await h.token("mcp:read mcp:execute", "mallory@example.com"));
    await expect(mallory.experimental.tasks.getTask(taskId)).rejects.toThrow(/not found/i);
    expect((await mallory.experimental.tasks.listTasks()).tasks).toEqual([]);

    slow.release("background answer");
    const result: any = await admin.experimental.tasks.getTaskResult(taskId, CallToolResultSchema);
    expect(result.structuredContent).toMatchObject({ state: "completed", output: "background answer", agent_id: "slow-agent" });
    expect((await admin.experimental.tasks.getTask(taskId)).status).toBe("completed");
  });

  it("tasks/cancel stops the agent call", async () => {
    slow.hold();
    const n = slow.received.length + 1;
    const created = await admin.request(
      { method: "tools/call", params: { name: "mesh_execute", arguments: { task: "background job 2", capabilities: ["slow_work"] }, task: {} } },
      CreateTaskResultSchema,
    );
    const meshTaskId = await slow.arrived(n);
    const cancelled = await admin.experimental.tasks.cancelTask(created.task.taskId);
    expect(cancelled.status).toBe("cancelled");
    await slow.abandonedCall(meshTaskId);
  });
});

describe("submit_workflow starts a multi-agent workflow", () => {
  it("returns the workflow id at once without a progress token", async () => {
    const out = structured(
      await admin.callTool({
        name: "submit_workflow",
        arguments: { workflow_type: "sequential", payload: { steps: [{ task: "Check this code for security issues: eval(x)", capabilities: ["security_analysis"] }] } },
      }),
    );
    expect(out.workflow_id).toMatch(/\S/);
    const task = structured(await admin.callTool({ name: "get_task", arguments: { id: out.workflow_id } }));
    expect(task.kind).toBe("workflow");
  });

  it("streams progress and returns the final output when followed", async () => {
    const seen: number[] = [];
    const out = structured(
      await admin.callTool(
        {
          name: "submit_workflow",
          arguments: { workflow_type: "sequential", payload: { steps: [{ task: "Check this code for security issues: eval(x)", capabilities: ["security_analysis"] }] } },
        },
        undefined,
        { onprogress: (p) => seen.push(p.progress) },
      ),
    );
    expect(out.state).toBe("completed");
    expect(seen.length).toBeGreaterThan(1);
  });
});

describe("mesh_execute with a workflow type runs the task as a workflow", () => {
  it("returns the workflow's id, kind and final output", async () => {
    const out = structured(
      await admin.callTool({ name: "mesh_execute", arguments: { task: "Check this code for security issues: eval(x)", workflow: "sequential", capabilities: ["security_analysis"] } }),
    );
    expect(out).toMatchObject({ kind: "workflow", state: "completed" });
    expect(out.output).toMatch(/eval|CWE/i);
    const task = structured(await admin.callTool({ name: "get_task", arguments: { id: out.task_id } }));
    expect(task).toMatchObject({ kind: "workflow", state: "completed" });
  });

  it("submit_workflow as an MCP task hands over the workflow's result", async () => {
    const created = await admin.request(
      {
        method: "tools/call",
        params: {
          name: "submit_workflow",
          arguments: { workflow_type: "parallel", payload: { steps: [{ task: "Check: eval(a)", capabilities: ["security_analysis"] }, { task: "Check: eval(b)", capabilities: ["security_analysis"] }] } },
          task: { ttl: 60_000 },
        },
      },
      CreateTaskResultSchema,
    );
    const result: any = await admin.experimental.tasks.getTaskResult(created.task.taskId, CallToolResultSchema);
    expect(result.structuredContent).toMatchObject({ state: "completed" });
    expect(result.structuredContent.workflow_id).toMatch(/\S/);
  });
});

describe("tool calls share nothing between sessions", () => {
  it("a bad call in one session leaves another session's calls working", async () => {
    const id = await rawSession(h.url, adminToken);
    const bad = await rawPost(h.url, "{oops", { authorization: `Bearer ${adminToken}`, "mcp-session-id": id, "mcp-protocol-version": "2025-11-25" });
    expect(bad.status).toBe(400);
    const res = await rawPost(h.url, { jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "list_agents", arguments: {} } }, {
      authorization: `Bearer ${adminToken}`,
      "mcp-session-id": id,
      "mcp-protocol-version": "2025-11-25",
    });
    expect((await messagesOf(res)).find((m) => m.id === 3).result.structuredContent.agents.length).toBeGreaterThan(0);
  });
});

import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { CallToolResultSchema, CreateTaskResultSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { databaseTargets, type FreshPostgresDatabase, freshPostgresDatabase } from "../../support/postgres.js";
import { type McpHarness, startMcpHarness } from "./harness.js";

// The MCP tools over every database the platform supports: what the other MCP tests prove on SQLite,
// the storage-touching calls (tasks, events, search, the registry) once more on PostgreSQL.
describe.each(databaseTargets())("MCP tools end to end on $name", (target) => {
  let h: McpHarness;
  let db: FreshPostgresDatabase | undefined;
  let client: Client;

  beforeAll(async () => {
    db = target.url ? await freshPostgresDatabase(target.url) : undefined;
    h = await startMcpHarness({}, db ? { MESHAI_DATABASE_URL: db.url } : {});
    client = await h.client(await h.token("mcp:read mcp:execute", "admin@example.com"));
  });
  afterAll(async () => {
    await h?.close();
    await db?.drop();
  });

  it("search, list_agents, mesh_execute with progress and get_task agree with each other", async () => {
    const found: any = await client.callTool({ name: "search", arguments: { query: "data analysis", type: "agents" } });
    expect(found.structuredContent.results.map((r: any) => r.id)).toContain("agent:builtin.data-analyst");
    const agents: any = await client.callTool({ name: "list_agents", arguments: { capabilities: ["data_analysis"] } });
    expect(agents.structuredContent.agents.map((a: any) => a.id)).toEqual(["builtin.data-analyst"]);
    const progress: number[] = [];
    const ran: any = await client.callTool(
      { name: "mesh_execute", arguments: { task: "Compute statistics for this CSV:\nx,y\n1,2\n3,5\n4,4" } },
      undefined,
      { onprogress: (p) => progress.push(p.progress) },
    );
    expect(ran.isError, JSON.stringify(ran.content)).toBeFalsy();
    expect(ran.structuredContent).toMatchObject({ state: "completed", agent_id: "builtin.data-analyst" });
    expect(progress.length).toBeGreaterThan(2);
    const task: any = await client.callTool({ name: "get_task", arguments: { id: ran.structuredContent.task_id } });
    expect(task.structuredContent).toMatchObject({ state: "completed", last_seq: ran.structuredContent.events });
  });

  it("an MCP task runs mesh_execute in the background and hands over its result", async () => {
    const created = await client.request(
      { method: "tools/call", params: { name: "mesh_execute", arguments: { task: "Check for security issues: eval(x)" }, task: { ttl: 60_000 } } },
      CreateTaskResultSchema,
    );
    const result: any = await client.experimental.tasks.getTaskResult(created.task.taskId, CallToolResultSchema);
    expect(result.structuredContent).toMatchObject({ state: "completed", agent_id: "builtin.security-scanner" });
  });
});

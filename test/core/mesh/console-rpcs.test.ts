// The RPCs the admin console's agents and tasks sections stand on, over a real
// gRPC socket, on SQLite and PostgreSQL: UpdateAgent with the `enabled` mask,
// and ListTasks(parent_id) listing a workflow's steps.
import { Code, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentProtocol, MeshService, TaskState } from "../../../gen/meshai/v1/mesh_pb.js";
import { startTestCore, type TestCore } from "../../support/core.js";
import { databaseTargets, type FreshPostgresDatabase, freshPostgresDatabase } from "../../support/postgres.js";
import { type ScriptedAgent, startScriptedAgent } from "../workflows/peers.js";

for (const target of databaseTargets()) {
  describe(`on ${target.name}`, () => {
    let t: TestCore;
    let pg: FreshPostgresDatabase | undefined;
    let agent: ScriptedAgent;
    let admin: string;
    let alice: string;
    let mesh: ReturnType<typeof createClient<typeof MeshService>>;
    const auth = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

    beforeAll(async () => {
      agent = await startScriptedAgent();
      pg = target.name === "postgres" ? await freshPostgresDatabase(target.url) : undefined;
      t = await startTestCore({ MESHAI_ALLOW_PRIVATE_NETWORK: "true", MESHAI_HEALTH_CHECK_INTERVAL: "0", ...(pg ? { MESHAI_DATABASE_URL: pg.url } : {}) });
      admin = await t.token("mcp:read mcp:execute mcp:manage");
      alice = await t.token("mcp:read mcp:execute", "alice@example.com");
      mesh = createClient(MeshService, createGrpcTransport({ baseUrl: t.core.url }));
      await mesh.registerAgent({ agent: { id: "toggle", name: "Toggle", protocol: AgentProtocol.MESHAI_HTTP, endpoint: agent.url, capabilities: ["toggle_work"] } }, auth(admin));
    }, 60_000);

    afterAll(async () => {
      await t?.close();
      await pg?.drop();
      await agent?.close();
    });

    async function lastState(task: string): Promise<{ state: TaskState; message: string }> {
      let last = { state: TaskState.UNSPECIFIED, message: "" };
      for await (const r of mesh.executeTask({ task, capabilities: ["toggle_work"] }, auth(alice))) last = { state: r.event!.state, message: r.event!.message };
      return last;
    }

    describe("UpdateAgent with update_mask [enabled] disables and enables an agent, and only that field changes", () => {
      it("disabled: hidden from ListAgents unless include_disabled, never routed to; enabled: routed again", async () => {
        const off = await mesh.updateAgent({ agent: { id: "toggle", enabled: false }, updateMask: { paths: ["enabled"] } }, auth(admin));
        expect(off.agent).toMatchObject({ id: "toggle", enabled: false, name: "Toggle", capabilities: ["toggle_work"], endpoint: agent.url });
        expect((await mesh.listAgents({}, auth(admin))).agents.map((a) => a.id)).not.toContain("toggle");
        expect((await mesh.listAgents({ includeDisabled: true }, auth(admin))).agents.find((a) => a.id === "toggle")?.enabled).toBe(false);
        const refused = await lastState("toggle this off");
        expect(refused.state).toBe(TaskState.FAILED);
        expect(refused.message).toMatch(/no enabled agent has the capability "toggle_work"/);

        const on = await mesh.updateAgent({ agent: { id: "toggle", enabled: true }, updateMask: { paths: ["enabled"] } }, auth(admin));
        expect(on.agent?.enabled).toBe(true);
        expect((await lastState("toggle this on")).state).toBe(TaskState.COMPLETED);
      });

      it("needs mcp:manage", async () => {
        await expect(mesh.updateAgent({ agent: { id: "toggle", enabled: false }, updateMask: { paths: ["enabled"] } }, auth(alice))).rejects.toMatchObject({ code: Code.PermissionDenied });
        expect((await mesh.getAgent({ id: "toggle" }, auth(admin))).agent?.enabled).toBe(true);
      });
    });

    describe("ListTasks with agent_id lists only the tasks routed to that agent", () => {
      it("has the tasks the agent ran, not one that found no agent; a user sees only their own", async () => {
        const mine = (await mesh.listTasks({ agentId: "toggle" }, auth(alice))).tasks;
        expect(mine.map((x) => x.input)).toEqual(["toggle this on"]);
        expect(mine.every((x) => x.agentId === "toggle")).toBe(true);
        expect((await mesh.listTasks({ agentId: "toggle" }, auth(admin))).tasks.map((x) => x.input)).toContain("toggle this on");
        expect((await mesh.listTasks({ agentId: "nobody" }, auth(admin))).tasks).toEqual([]);
      });
    });

    describe("ListTasks with parent_id lists a workflow's steps, oldest first, to whoever may see the workflow", () => {
      it("returns the two steps of a sequential workflow; another user sees none", async () => {
        const { workflow } = await mesh.submitWorkflow(
          { workflowType: "sequential", payload: { steps: [{ id: "one", task: "first step", agent: "toggle" }, { id: "two", task: "second step", agent: "toggle" }] } },
          auth(admin),
        );
        const id = workflow!.id;
        for await (const _ of mesh.watchTask({ id }, auth(admin)));
        const steps = (await mesh.listTasks({ parentId: id }, auth(admin))).tasks;
        expect(steps.map((s) => [s.input, s.parentId, s.state])).toEqual([
          ["first step", id, TaskState.COMPLETED],
          ["second step", id, TaskState.COMPLETED],
        ]);
        expect((await mesh.listTasks({ parentId: id }, auth(alice))).tasks).toEqual([]);
        expect((await mesh.listTasks({ parentId: "wfl_none" }, auth(admin))).tasks).toEqual([]);
      });
    });
  });
}

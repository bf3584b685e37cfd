import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentProtocol, MeshService } from "../../../gen/meshai/v1/mesh_pb.js";
import { openDatabase } from "../../../src/core/store/db.js";
import { databaseTargets } from "../../support/postgres.js";
import { ADMIN_EMAIL, type OAuthCore, startOAuthCore } from "../oauth/support.js";
import { issueServiceToken } from "../../../src/core/auth/service.js";

// ListAgents answers from the agents table as read at most a second ago (RegistryDeps.writes).
for (const target of databaseTargets()) {
  describe(`on ${target.name}: ListAgents shows a change made in this process at once, one made elsewhere within a second`, () => {
    let t: OAuthCore;
    let mesh: ReturnType<typeof createClient<typeof MeshService>>;
    let auth: { headers: { authorization: string } };
    const ids = async (req: Parameters<typeof mesh.listAgents>[0] = {}) => (await mesh.listAgents(req, auth)).agents.map((a) => a.id);

    beforeAll(async () => {
      t = await startOAuthCore(target, { MESHAI_ALLOW_PRIVATE_NETWORK: "true", MESHAI_HEALTH_CHECK_INTERVAL: "0" });
      mesh = createClient(MeshService, createConnectTransport({ baseUrl: t.core.url, httpVersion: "1.1" }));
      const { accounts, accessTokens, config } = t.core.platform;
      const { accessToken } = await issueServiceToken(
        { accounts, accessTokens, mcpResource: config.mcpResource, resources: config.resources, accessTokenTtl: config.accessTokenTtl },
        { email: ADMIN_EMAIL, scope: "mcp:read mcp:manage", resource: "", ttlSeconds: 0 },
      );
      auth = { headers: { authorization: `Bearer ${accessToken}` } };
    });
    afterAll(() => t?.close());

    const agent = (id: string, framework = "crewai") => ({
      agent: { id, name: `Agent ${id}`, framework, protocol: AgentProtocol.OPENAI, endpoint: "http://127.0.0.1:9/v1", capabilities: ["reads_test"] },
    });

    it("an agent registered, changed or removed through the registry is listed accordingly by the very next call", async () => {
      expect(await ids()).not.toContain("reads-a");
      await mesh.registerAgent(agent("reads-a"), auth);
      expect(await ids()).toContain("reads-a");
      expect(await ids({ framework: "CrewAI" })).toContain("reads-a");
      await mesh.updateAgent({ agent: { id: "reads-a", framework: "autogen" }, updateMask: { paths: ["framework"] } }, auth);
      expect(await ids({ framework: "crewai" })).not.toContain("reads-a");
      await mesh.deleteAgent({ id: "reads-a" }, auth);
      expect(await ids()).not.toContain("reads-a");
    });

    it("an agent removed by another process disappears once the second has passed", async () => {
      await mesh.registerAgent(agent("reads-b"), auth);
      expect(await ids()).toContain("reads-b");
      const other = openDatabase({ databaseUrl: t.databaseUrl ?? "", sqliteFile: t.core.platform.config.sqliteFile });
      try {
        await other.knex("agents").where({ id: "reads-b" }).delete();
      } finally {
        await other.close();
      }
      t.clock.advance(1000);
      expect(await ids()).not.toContain("reads-b");
    });

    it("filters and order are those of the table: disabled agents only on request, then by name and id", async () => {
      await mesh.registerAgent(agent("reads-d"), auth);
      await mesh.registerAgent(agent("reads-c"), auth);
      await mesh.updateAgent({ agent: { id: "reads-d", enabled: false }, updateMask: { paths: ["enabled"] } }, auth);
      expect(await ids({ capabilities: ["reads_test"] })).toEqual(["reads-c"]);
      expect(await ids({ capabilities: ["reads_test"], includeDisabled: true })).toEqual(["reads-c", "reads-d"]);
    });
  });
}

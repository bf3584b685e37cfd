import { Code, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MeshService } from "../../../gen/meshai/v1/mesh_pb.js";
import { issueServiceToken } from "../../../src/core/auth/service.js";
import { openDatabase } from "../../../src/core/store/db.js";
import { databaseTargets } from "../../support/postgres.js";
import { type OAuthCore, startOAuthCore } from "./support.js";

// The per-RPC token check may reuse a verdict for at most one second (AccessTokens VerifyOptions.recent).
for (const target of databaseTargets()) {
  describe(`on ${target.name}: an RPC reuses a token's verdict for at most a second, and never past a change made in this process`, () => {
    let t: OAuthCore;
    let mesh: ReturnType<typeof createClient<typeof MeshService>>;
    let n = 0;

    beforeAll(async () => {
      t = await startOAuthCore(target);
      mesh = createClient(MeshService, createConnectTransport({ baseUrl: t.core.url, httpVersion: "1.1" }));
    });
    afterAll(() => t?.close());

    /** A fresh user with a fresh mcp:read token, already used once (so its verdict is remembered). */
    async function usedToken(ttlSeconds = 0): Promise<{ token: string; email: string }> {
      const email = `verdict${n++}@example.com`;
      const { accounts, accessTokens, config } = t.core.platform;
      await accounts.create({ email, password: "user-password-1" });
      const { accessToken: token } = await issueServiceToken(
        { accounts, accessTokens, mcpResource: config.mcpResource, resources: config.resources, accessTokenTtl: config.accessTokenTtl },
        { email, scope: "mcp:read", resource: "", ttlSeconds },
      );
      await mesh.listAgents({}, bearer(token));
      return { token, email };
    }
    const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
    const refused = (token: string, why: RegExp) => expect(mesh.listAgents({}, bearer(token))).rejects.toMatchObject({ code: Code.Unauthenticated, rawMessage: expect.stringMatching(why) });

    it("a token revoked by any code of this process (here a raw UPDATE) is refused by the very next RPC", async () => {
      const { token } = await usedToken();
      await t.core.platform.db.knex("access_tokens").where({ jti: decodeJwt(token).jti }).update({ revoked_at: t.clock.now() });
      await refused(token, /revoked/);
    });

    it("a user disabled in this process is refused by the very next RPC", async () => {
      const { token, email } = await usedToken();
      await t.core.platform.accounts.update(email, { disabled: true });
      await refused(token, /disabled/);
    });

    it("a revocation written by another process is honoured once the second has passed", async () => {
      const { token } = await usedToken();
      const other = openDatabase({ databaseUrl: t.databaseUrl ?? "", sqliteFile: t.core.platform.config.sqliteFile });
      try {
        await other.knex("access_tokens").where({ jti: decodeJwt(token).jti }).update({ revoked_at: t.clock.now() });
      } finally {
        await other.close();
      }
      t.clock.advance(1000);
      await refused(token, /revoked/);
    });

    it("a reused verdict still ends when the token expires", async () => {
      // Half a second into a second, so a one-second token expires within the reuse window.
      t.clock.advance(1500 - (t.clock.now() % 1000));
      const { token } = await usedToken(1);
      t.clock.advance(600);
      await refused(token, /expired/);
    });
  });
}

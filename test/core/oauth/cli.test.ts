// `meshai client` and `meshai grant` as an operator runs them: a child process over a
// throwaway data dir, and a real core on the same database to show the effect.
import { Code, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthService } from "../../../gen/meshai/v1/auth_pb.js";
import { loadConfig } from "../../../src/config.js";
import { type RunningCore, startCore } from "../../../src/core/server.js";
import { type Env, freshEnv, query, removeDir, runCli, sqliteFile } from "../../support/process.js";

describe("meshai client and meshai grant manage OAuth clients and grants", () => {
  let env: Env;
  let dataDir: string;
  let core: RunningCore;
  beforeAll(async () => {
    ({ env, dataDir } = await freshEnv({ MESHAI_ADMIN_EMAIL: "admin@example.com", MESHAI_ADMIN_PASSWORD: "admin-password-1", MESHAI_GRPC_PORT: "0" }));
    core = await startCore(loadConfig(env));
  });
  afterAll(async () => {
    await core?.close(200);
    removeDir(dataDir);
  });
  const auth = () => createClient(AuthService, createConnectTransport({ baseUrl: core.url, httpVersion: "1.1" }));

  it("client add prints the secret once, stores only its hash, and the client can get tokens; delete revokes them", async () => {
    const added = await runCli(["client", "add", "--name", "Billing", "--grant-type", "client_credentials", "--scope", "mcp:read", "--json"], { env });
    expect(added.code, added.stderr).toBe(0);
    const body = JSON.parse(added.stdout) as { client_id: string; client_secret: string; grant_types: string[] };
    expect(body.grant_types).toEqual(["client_credentials"]);
    const rows = await query<{ secret_hash: string }>(sqliteFile(dataDir), "select secret_hash from oauth_clients where client_id = ?", [body.client_id]);
    expect(rows[0]!.secret_hash).not.toBe(body.client_secret);

    const token = await auth().token({ grantType: "client_credentials", client: { clientId: body.client_id, clientSecret: body.client_secret, method: "client_secret_basic" } });
    expect(token.scope).toBe("mcp:read");

    const listed = await runCli(["client", "list"], { env });
    expect(listed.stdout).toContain(body.client_id);
    expect(listed.stdout).not.toContain(body.client_secret);

    const deleted = await runCli(["client", "delete", body.client_id], { env });
    expect(deleted.code, deleted.stderr).toBe(0);
    await expect(auth().verifyAccessToken({ token: token.accessToken })).rejects.toMatchObject({ code: Code.Unauthenticated });
  });

  it("client add refuses a javascript: redirect URI, naming the field", async () => {
    const res = await runCli(["client", "add", "--name", "Bad", "--redirect-uri", "javascript:alert(1)"], { env });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain("redirect_uris");
  });

  it("grant list shows a user's grants and grant revoke --user revokes them and their tokens", async () => {
    const oauth = core.platform.oauth;
    const admin = (await core.platform.users.byEmail("admin@example.com"))!;
    const { client } = await oauth.registry.createByAdmin({ client_name: "App", redirect_uris: ["https://app.example.com/cb"], token_endpoint_auth_method: "none" });
    const grant = await oauth.grants.approve(admin.id, client.clientId, ["mcp:read"], [core.platform.config.mcpResource]);
    const issued = await core.platform.accessTokens.issue({
      subject: admin.id,
      userId: admin.id,
      clientId: client.clientId,
      scope: "mcp:read",
      audience: core.platform.config.mcpResource,
      ttlSeconds: 600,
      grantId: grant.id,
    });
    const listed = await runCli(["grant", "list", "--user", "admin@example.com"], { env });
    expect(listed.stdout).toContain(grant.id);
    const revoked = await runCli(["grant", "revoke", "--user", "admin@example.com"], { env });
    expect(revoked.stdout).toContain("revoked 1 grant");
    await expect(auth().verifyAccessToken({ token: issued.token })).rejects.toMatchObject({ code: Code.Unauthenticated });
    const none = await runCli(["grant", "revoke"], { env });
    expect(none.code).toBe(2);
  });
});

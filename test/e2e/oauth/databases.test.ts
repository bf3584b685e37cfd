import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { databaseTargets, type FreshPostgresDatabase, freshPostgresDatabase } from "../../support/postgres.js";
import { ADMIN, type OAuthStack, startOAuthStack } from "./harness.js";
import { HttpAgent, hiddenFields } from "./http-agent.js";

// The whole HTTP flow once per database the platform supports: what the browser tests prove on
// SQLite also holds on PostgreSQL.
describe.each(databaseTargets())("the OAuth flow over HTTP end to end ($name)", (target) => {
  let stack: OAuthStack;
  let db: FreshPostgresDatabase | undefined;
  const REDIRECT = "http://127.0.0.1:9/callback";
  const verifier = randomBytes(32).toString("base64url");
  let client: { client_id: string; client_secret: string };
  let tokens: { access_token: string; refresh_token: string; id_token?: string; scope: string };

  beforeAll(async () => {
    db = target.url ? await freshPostgresDatabase(target.url) : undefined;
    stack = await startOAuthStack(db ? { MESHAI_DATABASE_URL: db.url } : {});
  });
  afterAll(async () => {
    await stack?.close();
    await db?.drop();
  });

  const basic = () => `Basic ${Buffer.from(`${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret)}`).toString("base64")}`;
  const post = (path: string, form: Record<string, string>, auth = true) =>
    fetch(`${stack.issuer}${path}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", ...(auth ? { authorization: basic() } : {}) },
      body: new URLSearchParams(form),
    });

  it("registers a confidential client, signs in, approves and exchanges the code", async () => {
    const reg = await fetch(`${stack.issuer}/oauth/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ client_name: `db ${target.name}`, redirect_uris: [REDIRECT], token_endpoint_auth_method: "client_secret_basic" }),
    });
    expect(reg.status).toBe(201);
    client = (await reg.json()) as typeof client;

    const agent = new HttpAgent(stack.issuer);
    const q = new URLSearchParams({
      response_type: "code",
      client_id: client.client_id,
      redirect_uri: REDIRECT,
      scope: "openid email mcp:read",
      state: target.name,
      code_challenge: createHash("sha256").update(verifier).digest("base64url"),
      code_challenge_method: "S256",
    });
    const login = (await agent.get(`/oauth/authorize?${q}`)).headers.get("location")!;
    const loginFields = hiddenFields(await (await agent.get(login)).text());
    const consent = (await agent.post("/oauth/login", { ...loginFields, ...ADMIN })).headers.get("location")!;
    const consentFields = hiddenFields(await (await agent.get(consent)).text());
    const back = new URL((await agent.post("/oauth/consent", { ...consentFields, decision: "approve" })).headers.get("location")!);
    expect(back.searchParams.get("iss")).toBe(stack.issuer);
    expect(back.searchParams.get("state")).toBe(target.name);

    const res = await post("/oauth/token", { grant_type: "authorization_code", code: back.searchParams.get("code")!, code_verifier: verifier, redirect_uri: REDIRECT });
    expect(res.status).toBe(200);
    tokens = (await res.json()) as typeof tokens;
    expect(tokens.id_token).toBeTruthy();
  });

  it("serves userinfo, introspects, refreshes with rotation, and revokes the grant", async () => {
    const info = await fetch(`${stack.issuer}/oauth/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(await info.json()).toMatchObject({ email: ADMIN.email });
    expect(await (await post("/oauth/introspect", { token: tokens.access_token })).json()).toMatchObject({ active: true, client_id: client.client_id });

    const refreshed = (await (await post("/oauth/token", { grant_type: "refresh_token", refresh_token: tokens.refresh_token })).json()) as typeof tokens;
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);

    expect((await post("/oauth/revoke", { token: refreshed.refresh_token })).status).toBe(200);
    const after = await post("/oauth/token", { grant_type: "refresh_token", refresh_token: refreshed.refresh_token });
    expect(after.status).toBe(400);
    expect(await after.json()).toMatchObject({ error: "invalid_grant" });
    expect(await (await post("/oauth/introspect", { token: refreshed.access_token })).json()).toEqual({ active: false });
  });
});

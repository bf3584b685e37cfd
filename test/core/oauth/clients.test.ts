import http from "node:http";
import type { AddressInfo } from "node:net";
import { randomBytes } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { SignJWT, exportJWK, generateKeyPair } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { databaseTargets } from "../../support/postgres.js";
import { ADMIN_EMAIL, type OAuthCore, REDIRECT, authorize, bearer, exchange, oauthCodeOf, pkce, publicClient, startOAuthCore } from "./support.js";

async function failure(p: Promise<unknown>): Promise<ConnectError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e, "the call should have failed").toBeInstanceOf(ConnectError);
  return e as ConnectError;
}

/** A loopback stand-in for a client's web server, serving its metadata document. */
async function documentServer(body: (url: string) => unknown, headers: Record<string, string> = {}) {
  let hits = 0;
  const server = http.createServer((req, res) => {
    hits++;
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${req.url}`;
    res.writeHead(200, { "content-type": "application/json", ...headers });
    res.end(JSON.stringify(body(url)));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { base, hits: () => hits, close: () => new Promise<void>((r) => server.close(() => r())) };
}

for (const target of databaseTargets()) {
  describe(`Dynamic Client Registration (${target.name})`, () => {
    let t: OAuthCore;
    const register = (metadata: Record<string, unknown>, address = "127.0.4.1") => t.auth.registerClient({ metadata: metadata as never, remoteAddress: address });
    beforeAll(async () => {
      t = await startOAuthCore(target);
    });
    afterAll(() => t?.close());

    it("registers a public client and answers with the RFC 7591 body", async () => {
      const res = await register({ client_name: "MCP Inspector", redirect_uris: [REDIRECT], token_endpoint_auth_method: "none", grant_types: ["authorization_code", "refresh_token"] });
      expect(res.clientSecret).toBe("");
      expect(res.registration).toMatchObject({
        client_id: res.client!.clientId,
        client_name: "MCP Inspector",
        redirect_uris: [REDIRECT],
        token_endpoint_auth_method: "none",
        response_types: ["code"],
      });
      expect(typeof res.registration!.client_id_issued_at).toBe("number");
    });

    it("gives a confidential client a secret once, stored only as a hash", async () => {
      const res = await register({ redirect_uris: ["https://app.example.com/cb"] });
      expect(res.client!.tokenEndpointAuthMethod).toBe("client_secret_basic");
      expect(res.clientSecret.length).toBeGreaterThan(30);
      expect(res.registration).toMatchObject({ client_secret: res.clientSecret, client_secret_expires_at: 0 });
      const row = await t.core.platform.db.knex("oauth_clients").where({ client_id: res.client!.clientId }).first();
      expect(row.secret_hash).not.toContain(res.clientSecret);
    });

    it("keeps only the scopes this platform knows from the registered scope", async () => {
      const res = await register({ redirect_uris: [REDIRECT], token_endpoint_auth_method: "none", scope: "claudeai mcp:read openid write" });
      expect(res.client!.scope).toBe("mcp:read openid");
      expect(res.registration!.scope).toBe("mcp:read openid");
    });

    it("accepts loopback http and private-use schemes for native apps", async () => {
      await register({ redirect_uris: ["http://localhost:3000/cb", "http://[::1]/cb", "cursor://anysphere.cursor-mcp/oauth/callback"], token_endpoint_auth_method: "none" });
    });

    it("refuses a non-loopback http redirect URI", async () => {
      const e = await failure(register({ redirect_uris: ["http://app.example.com/cb"], token_endpoint_auth_method: "none" }));
      expect(e.code).toBe(Code.InvalidArgument);
      expect(oauthCodeOf(e)).toBe("invalid_redirect_uri");
    });

    it("refuses a javascript: (or data:) redirect URI", async () => {
      for (const uri of ["javascript:alert(document.cookie)", "data:text/html,<script>alert(1)</script>"]) {
        const e = await failure(register({ redirect_uris: [uri], token_endpoint_auth_method: "none" }));
        expect(oauthCodeOf(e)).toBe("invalid_redirect_uri");
      }
    });

    it("refuses a redirect URI with a fragment", async () => {
      const e = await failure(register({ redirect_uris: ["https://app.example.com/cb#frag"], token_endpoint_auth_method: "none" }));
      expect(oauthCodeOf(e)).toBe("invalid_redirect_uri");
    });

    it("refuses registration without redirect URIs, or asking for client_credentials", async () => {
      expect(oauthCodeOf(await failure(register({ token_endpoint_auth_method: "none" })))).toBe("invalid_redirect_uri");
      const cc = await failure(register({ redirect_uris: [REDIRECT], grant_types: ["client_credentials"] }));
      expect(oauthCodeOf(cc)).toBe("invalid_client_metadata");
    });

    it("rate limits registrations per address", async () => {
      for (let n = 0; n < 20; n++) await register({ redirect_uris: [REDIRECT], token_endpoint_auth_method: "none" }, "127.0.4.99");
      const e = await failure(register({ redirect_uris: [REDIRECT], token_endpoint_auth_method: "none" }, "127.0.4.99"));
      expect(e.code).toBe(Code.ResourceExhausted);
      expect(Number(e.metadata.get("retry-after"))).toBeGreaterThan(0);
      await register({ redirect_uris: [REDIRECT], token_endpoint_auth_method: "none" }, "127.0.4.100");
    });

    it("reaps dynamic clients never used within MESHAI_CLIENT_REAP_DAYS, keeping used and admin ones", async () => {
      const idle = (await register({ redirect_uris: [REDIRECT], token_endpoint_auth_method: "none" }, "127.0.4.2")).client!.clientId;
      const used = await publicClient(t, {}, "127.0.4.3");
      const manage = await t.core.platform.oauth.registry.createByAdmin({ client_name: "svc", grant_types: ["client_credentials"], scope: "mcp:read" });
      t.clock.advance(29 * 24 * 3600_000);
      await exchange(t, used, await authorize(t, used, { email: ADMIN_EMAIL }));
      t.clock.advance(2 * 24 * 3600_000);
      const { reapedClients } = await t.core.platform.oauth.sweep();
      expect(reapedClients).toBeGreaterThanOrEqual(1);
      await expect(t.auth.resolveClient({ clientId: idle })).rejects.toMatchObject({ code: Code.InvalidArgument });
      expect((await t.auth.resolveClient({ clientId: used })).client?.clientId).toBe(used);
      expect((await t.auth.resolveClient({ clientId: manage.client.clientId })).client?.clientId).toBe(manage.client.clientId);
    });
  });

  describe(`client administration RPCs (${target.name})`, () => {
    let t: OAuthCore;
    beforeAll(async () => {
      t = await startOAuthCore(target);
    });
    afterAll(() => t?.close());

    it("creates, lists, gets and deletes clients; deleting revokes their tokens", async () => {
      const clientId = await publicClient(t, {}, "127.0.5.1");
      const admin = (await exchange(t, clientId, await authorize(t, clientId, { email: ADMIN_EMAIL, scope: "mcp:read mcp:manage" }))).accessToken;
      await expect(t.auth.listClients({}, bearer((await exchange(t, clientId, await authorize(t, clientId, { email: ADMIN_EMAIL, scope: "mcp:read" }))).accessToken))).rejects.toMatchObject({
        code: Code.PermissionDenied,
      });
      const created = await t.auth.createClient({ metadata: { client_name: "svc", grant_types: ["client_credentials"], scope: "mcp:read" } as never }, bearer(admin));
      expect(created.clientSecret).not.toBe("");
      const listed = await t.auth.listClients({}, bearer(admin));
      expect(listed.clients.map((c) => c.clientId)).toContain(created.client!.clientId);
      expect((await t.auth.getClient({ clientId: created.client!.clientId }, bearer(admin))).client?.clientName).toBe("svc");
      const other = await publicClient(t, {}, "127.0.5.2");
      const victim = await exchange(t, other, await authorize(t, other, { email: ADMIN_EMAIL }));
      await t.auth.deleteClient({ clientId: other }, bearer(admin));
      await expect(t.auth.verifyAccessToken({ token: victim.accessToken })).rejects.toMatchObject({ code: Code.Unauthenticated });
      await expect(t.auth.getClient({ clientId: other }, bearer(admin))).rejects.toMatchObject({ code: Code.NotFound });
    });
  });
}

describe("Client ID Metadata Documents with private networks allowed (tests' loopback server)", () => {
  let t: OAuthCore;
  let doc: Awaited<ReturnType<typeof documentServer>>;
  beforeAll(async () => {
    t = await startOAuthCore({ name: "sqlite" }, { MESHAI_ALLOW_PRIVATE_NETWORK: "true" });
    doc = await documentServer((url) =>
      url.endsWith("/wrong.json")
        ? { client_id: "https://someone-else.example.com/client.json", redirect_uris: [REDIRECT] }
        : { client_id: url, client_name: "Doc client", redirect_uris: [REDIRECT], token_endpoint_auth_method: "none" },
      { "cache-control": "max-age=600" },
    );
  });
  afterAll(async () => {
    await doc?.close();
    await t?.close();
  });

  it("resolves a document whose client_id equals its URL, caches it, and runs the flow", async () => {
    const clientId = `${doc.base}/oauth/client.json`;
    const resolved = await t.auth.resolveClient({ clientId });
    expect(resolved.client).toMatchObject({ clientId, clientName: "Doc client" });
    const tokens = await exchange(t, clientId, await authorize(t, clientId, { email: ADMIN_EMAIL }));
    expect(tokens.accessToken).toBeTruthy();
    expect(doc.hits()).toBe(1);
  });

  it("refuses a document whose client_id differs from its URL, and does not fetch it again at once", async () => {
    const before = doc.hits();
    const e = await failure(t.auth.resolveClient({ clientId: `${doc.base}/wrong.json` }));
    expect(e.code).toBe(Code.InvalidArgument);
    expect(oauthCodeOf(e)).toBe("invalid_client");
    const start = await failure(
      t.auth.startAuthorization({ clientId: `${doc.base}/wrong.json`, redirectUri: REDIRECT, responseType: "code", codeChallenge: pkce().challenge, codeChallengeMethod: "S256" }),
    );
    expect(start.code).toBe(Code.InvalidArgument);
    expect(doc.hits() - before).toBe(1);
  });
});

describe("a ChatGPT-style metadata document client: private_key_jwt with keys at jwks_uri", () => {
  let t: OAuthCore;
  let doc: Awaited<ReturnType<typeof documentServer>>;
  let keys: Awaited<ReturnType<typeof generateKeyPair>>;
  let jwk: Record<string, unknown>;
  const clientId = () => `${doc.base}/oauth/client.json`;
  const assertion = (kid: string) => {
    const now = Math.floor(t.clock.now() / 1000);
    return new SignJWT({})
      .setProtectedHeader({ alg: "RS256", kid })
      .setIssuer(clientId())
      .setSubject(clientId())
      .setAudience(t.issuer)
      .setIssuedAt(now)
      .setExpirationTime(now + 120)
      .setJti(randomBytes(16).toString("hex"))
      .sign(keys.privateKey);
  };
  beforeAll(async () => {
    t = await startOAuthCore({ name: "sqlite" }, { MESHAI_ALLOW_PRIVATE_NETWORK: "true" });
    keys = await generateKeyPair("RS256");
    jwk = { ...(await exportJWK(keys.publicKey)), alg: "RS256", use: "sig", kid: "chatgpt-1" };
    doc = await documentServer((url) =>
      url.endsWith("/jwks.json")
        ? { keys: [jwk] }
        : {
            client_id: url,
            client_name: "ChatGPT",
            redirect_uris: [REDIRECT],
            token_endpoint_auth_method: "private_key_jwt",
            jwks_uri: url.replace(/\/client\.json$/, "/jwks.json"),
            grant_types: ["authorization_code", "refresh_token"],
          },
    );
  });
  afterAll(async () => {
    await doc?.close();
    await t?.close();
  });

  it("authenticates the client with an RS256 assertion verified against its jwks_uri, and refuses a replay", async () => {
    const clientId = `${doc.base}/oauth/client.json`;
    const endpoint = `${t.issuer}/oauth/token`;
    const now = Math.floor(t.clock.now() / 1000);
    const jwt = await new SignJWT({})
      .setProtectedHeader({ alg: "RS256", kid: "chatgpt-1" })
      .setIssuer(clientId)
      .setSubject(clientId)
      .setAudience(t.issuer)
      .setIssuedAt(now)
      .setExpirationTime(now + 120)
      .setJti(randomBytes(16).toString("hex"))
      .sign(keys.privateKey);
    const a = await authorize(t, clientId, { email: ADMIN_EMAIL });
    const creds = { clientId, clientAssertionType: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", clientAssertion: jwt, method: "private_key_jwt", endpoint };
    const tokens = await t.auth.token({ grantType: "authorization_code", code: a.code, codeVerifier: a.verifier, client: creds });
    expect(tokens.refreshToken).toBeTruthy();
    const replay = await failure(t.auth.token({ grantType: "refresh_token", refreshToken: tokens.refreshToken, client: creds }));
    expect(oauthCodeOf(replay)).toBe("invalid_client");
  });

  it("picks up a rotated key from jwks_uri when an assertion names a kid it has not seen", async () => {
    keys = await generateKeyPair("RS256");
    jwk = { ...(await exportJWK(keys.publicKey)), alg: "RS256", use: "sig", kid: "chatgpt-2" };
    t.clock.advance(31_000);
    const a = await authorize(t, clientId(), { email: ADMIN_EMAIL });
    const creds = {
      clientId: clientId(),
      clientAssertionType: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
      clientAssertion: await assertion("chatgpt-2"),
      method: "private_key_jwt",
      endpoint: `${t.issuer}/oauth/token`,
    };
    const tokens = await t.auth.token({ grantType: "authorization_code", code: a.code, codeVerifier: a.verifier, client: creds });
    expect(tokens.accessToken).toBeTruthy();
  });
});

describe("Client ID Metadata Documents behind the SSRF guard (private networks not allowed)", () => {
  let t: OAuthCore;
  beforeAll(async () => {
    t = await startOAuthCore({ name: "sqlite" });
  });
  afterAll(() => t?.close());

  it("refuses a metadata document URL that resolves to a private address", async () => {
    for (const clientId of ["https://127.0.0.1:8443/client.json", "https://10.0.0.7/client.json", "https://[::1]/client.json", "https://localhost/client.json", "https://169.254.169.254/latest/meta-data"]) {
      const e = await failure(t.auth.resolveClient({ clientId }));
      expect(e.code).toBe(Code.InvalidArgument);
      expect(oauthCodeOf(e)).toBe("invalid_client");
    }
  });

  it("refuses a plain http metadata document URL", async () => {
    const e = await failure(t.auth.resolveClient({ clientId: "http://127.0.0.1:8080/client.json" }));
    expect(e.rawMessage).toMatch(/https/);
  });
});

import { randomBytes } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { SignJWT, exportJWK, generateKeyPair } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { databaseTargets } from "../../support/postgres.js";
import { PASSWORD, type OAuthCore, REDIRECT, authorize, bearer, exchange, oauthCodeOf, publicClient, refresh, secretClient, startOAuthCore } from "./support.js";

const EMAIL = "ca@example.com";
const JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

async function failure(p: Promise<unknown>): Promise<ConnectError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e, "the call should have failed").toBeInstanceOf(ConnectError);
  return e as ConnectError;
}

for (const target of databaseTargets()) {
  describe(`client authentication at the token endpoint (${target.name})`, () => {
    let t: OAuthCore;
    let keys: Awaited<ReturnType<typeof generateKeyPair>>;
    let jwtClient: string;
    let secret: { clientId: string; secret: string };
    const endpoint = () => `${t.issuer}/oauth/token`;
    const assertion = (claims: { iss?: string; sub?: string; aud?: string; exp?: number; jti?: string } = {}) => {
      const now = Math.floor(t.clock.now() / 1000);
      return new SignJWT({})
        .setProtectedHeader({ alg: "ES256" })
        .setIssuer(claims.iss ?? jwtClient)
        .setSubject(claims.sub ?? jwtClient)
        .setAudience(claims.aud ?? endpoint())
        .setIssuedAt(now)
        .setExpirationTime(claims.exp ?? now + 60)
        .setJti(claims.jti ?? randomBytes(12).toString("hex"))
        .sign(keys.privateKey);
    };
    const withAssertion = async (jwt: string) => {
      const a = await authorize(t, jwtClient, { email: EMAIL });
      return t.auth.token({
        grantType: "authorization_code",
        code: a.code,
        codeVerifier: a.verifier,
        client: { clientAssertionType: JWT_BEARER, clientAssertion: jwt, method: "private_key_jwt", endpoint: endpoint() },
      });
    };

    beforeAll(async () => {
      t = await startOAuthCore(target);
      await t.core.platform.accounts.create({ email: EMAIL, password: PASSWORD });
      keys = await generateKeyPair("ES256");
      const jwk = { ...(await exportJWK(keys.publicKey)), alg: "ES256", use: "sig", kid: "k1" };
      const res = await t.auth.registerClient({
        metadata: { client_name: "JWT app", redirect_uris: [REDIRECT], token_endpoint_auth_method: "private_key_jwt", jwks: { keys: [jwk] } } as never,
        remoteAddress: "127.0.6.1",
      });
      jwtClient = res.client!.clientId;
      secret = await secretClient(t);
    });
    afterAll(() => t?.close());

    it("private_key_jwt: a valid assertion authenticates the client", async () => {
      const tokens = await withAssertion(await assertion());
      expect(tokens.accessToken).toBeTruthy();
    });

    it("private_key_jwt: a replayed assertion (same jti) is refused", async () => {
      const jwt = await assertion({ jti: "only-once" });
      await withAssertion(jwt);
      const e = await failure(withAssertion(jwt));
      expect(e.code).toBe(Code.Unauthenticated);
      expect(oauthCodeOf(e)).toBe("invalid_client");
    });

    it("private_key_jwt: wrong audience, far expiry, or another client's sub are refused", async () => {
      for (const jwt of [
        await assertion({ aud: "https://elsewhere.example.com/token" }),
        await assertion({ exp: Math.floor(t.clock.now() / 1000) + 3600 }),
        await assertion({ sub: secret.clientId }),
      ]) {
        expect(oauthCodeOf(await failure(withAssertion(jwt)))).toBe("invalid_client");
      }
    });

    it("private_key_jwt: the client cannot fall back to no authentication", async () => {
      const a = await authorize(t, jwtClient, { email: EMAIL });
      const e = await failure(exchange(t, jwtClient, a));
      expect(oauthCodeOf(e)).toBe("invalid_client");
    });

    it("a wrong client secret is refused (basic and post)", async () => {
      for (const method of ["client_secret_basic", "client_secret_post"]) {
        const a = await authorize(t, secret.clientId, { email: EMAIL });
        const e = await failure(exchange(t, secret.clientId, a, { client: { clientId: secret.clientId, clientSecret: "not-the-secret", method } }));
        expect(e.code).toBe(Code.Unauthenticated);
        expect(oauthCodeOf(e)).toBe("invalid_client");
      }
    });

    it("the right client secret works; a confidential client without it is refused", async () => {
      const a = await authorize(t, secret.clientId, { email: EMAIL });
      const tokens = await exchange(t, secret.clientId, a, { client: { clientId: secret.clientId, clientSecret: secret.secret, method: "client_secret_basic" } });
      expect(tokens.accessToken).toBeTruthy();
      const b = await authorize(t, secret.clientId, { email: EMAIL });
      expect(oauthCodeOf(await failure(exchange(t, secret.clientId, b)))).toBe("invalid_client");
    });

    it("client_credentials: only for a confidential admin-added client; sub is the client", async () => {
      const svc = await t.core.platform.oauth.registry.createByAdmin({ client_name: "svc", grant_types: ["client_credentials"], scope: "mcp:read mcp:execute" });
      const res = await t.auth.token({ grantType: "client_credentials", scope: "mcp:read", client: { clientId: svc.client.clientId, clientSecret: svc.clientSecret!, method: "client_secret_basic" } });
      const v = await t.auth.verifyAccessToken({ token: res.accessToken });
      expect(v).toMatchObject({ subject: svc.client.clientId, clientId: svc.client.clientId, scopes: ["mcp:read"] });
      expect(res.refreshToken).toBe("");
      const widened = await failure(
        t.auth.token({ grantType: "client_credentials", scope: "mcp:manage", client: { clientId: svc.client.clientId, clientSecret: svc.clientSecret! } }),
      );
      expect(oauthCodeOf(widened)).toBe("invalid_scope");
      const pub = await publicClient(t, {}, "127.0.6.2");
      expect(oauthCodeOf(await failure(t.auth.token({ grantType: "client_credentials", client: { clientId: pub } })))).toBe("unauthorized_client");
      expect(oauthCodeOf(await failure(t.auth.token({ grantType: "client_credentials", client: { clientId: secret.clientId, clientSecret: secret.secret } })))).toBe(
        "unauthorized_client",
      );
    });
  });

  describe(`revocation and introspection (${target.name})`, () => {
    let t: OAuthCore;
    let pub: string;
    let conf: { clientId: string; secret: string };
    const confCreds = () => ({ clientId: conf.clientId, clientSecret: conf.secret, method: "client_secret_basic" });
    beforeAll(async () => {
      t = await startOAuthCore(target);
      await t.core.platform.accounts.create({ email: EMAIL, password: PASSWORD });
      pub = await publicClient(t);
      conf = await secretClient(t);
    });
    afterAll(() => t?.close());

    it("introspection requires client authentication (a confidential client)", async () => {
      const tokens = await exchange(t, pub, await authorize(t, pub, { email: EMAIL }));
      const anonymous = await failure(t.auth.introspect({ token: tokens.accessToken, client: { clientId: pub } }));
      expect(anonymous.code).toBe(Code.Unauthenticated);
      expect(oauthCodeOf(anonymous)).toBe("invalid_client");
      const nobody = await failure(t.auth.introspect({ token: tokens.accessToken }));
      expect(nobody.code).toBe(Code.Unauthenticated);
      const wrong = await failure(t.auth.introspect({ token: tokens.accessToken, client: { ...confCreds(), clientSecret: "nope" } }));
      expect(wrong.code).toBe(Code.Unauthenticated);
      const res = await t.auth.introspect({ token: tokens.accessToken, client: confCreds() });
      expect(res.introspection).toMatchObject({ active: true, client_id: pub, scope: "mcp:read", token_type: "Bearer", aud: t.mcpResource });
      expect((await t.auth.introspect({ token: "garbage", client: confCreds() })).introspection).toEqual({ active: false });
    });

    it("revocation of a refresh token revokes the grant and its access tokens", async () => {
      const tokens = await exchange(t, pub, await authorize(t, pub, { email: EMAIL }));
      await t.auth.revoke({ token: tokens.refreshToken, tokenTypeHint: "refresh_token", client: { clientId: pub } });
      await expect(t.auth.listGrants({}, bearer(tokens.accessToken))).rejects.toMatchObject({ code: Code.Unauthenticated });
      expect(oauthCodeOf(await failure(refresh(t, pub, tokens.refreshToken)))).toBe("invalid_grant");
    });

    it("revocation of an access token makes the core refuse it on the next RPC, and the refresh token still works", async () => {
      const tokens = await exchange(t, pub, await authorize(t, pub, { email: EMAIL }));
      await t.auth.revoke({ token: tokens.accessToken, client: { clientId: pub } });
      await expect(t.auth.listGrants({}, bearer(tokens.accessToken))).rejects.toMatchObject({ code: Code.Unauthenticated });
      expect((await t.auth.introspect({ token: tokens.accessToken, client: confCreds() })).introspection).toEqual({ active: false });
      expect((await refresh(t, pub, tokens.refreshToken)).accessToken).toBeTruthy();
    });

    it("revoking an unknown token, or another client's, answers OK and changes nothing", async () => {
      await t.auth.revoke({ token: "no-such-token", client: { clientId: pub } });
      const tokens = await exchange(t, pub, await authorize(t, pub, { email: EMAIL }));
      await t.auth.revoke({ token: tokens.refreshToken, client: confCreds() });
      expect((await refresh(t, pub, tokens.refreshToken)).accessToken).toBeTruthy();
    });
  });

  describe(`grants: listing and revocation (${target.name})`, () => {
    let t: OAuthCore;
    let pub: string;
    beforeAll(async () => {
      t = await startOAuthCore(target);
      await t.core.platform.accounts.create({ email: "g1@example.com", password: PASSWORD });
      await t.core.platform.accounts.create({ email: "g2@example.com", password: PASSWORD });
      pub = await publicClient(t);
    });
    afterAll(() => t?.close());

    it("a user sees and revokes only their own grants; revocation stops every token of the grant at once", async () => {
      const mine = await exchange(t, pub, await authorize(t, pub, { email: "g1@example.com" }));
      const second = await refresh(t, pub, mine.refreshToken);
      const theirs = await exchange(t, pub, await authorize(t, pub, { email: "g2@example.com" }));
      const listed = await t.auth.listGrants({}, bearer(second.accessToken));
      expect(listed.grants).toHaveLength(1);
      expect(listed.grants[0]).toMatchObject({ userEmail: "g1@example.com", clientId: pub, scope: "mcp:read", activeRefreshTokens: 1 });
      await expect(t.auth.listGrants({ user: "g2@example.com" }, bearer(second.accessToken))).rejects.toMatchObject({ code: Code.PermissionDenied });
      const theirGrant = (await t.auth.listGrants({}, bearer(theirs.accessToken))).grants[0]!;
      await expect(t.auth.revokeGrant({ grantId: theirGrant.id }, bearer(second.accessToken))).rejects.toMatchObject({ code: Code.NotFound });
      const res = await t.auth.revokeGrant({ grantId: listed.grants[0]!.id }, bearer(second.accessToken));
      expect(res.revoked).toBe(1);
      for (const token of [mine.accessToken, second.accessToken]) {
        await expect(t.auth.verifyAccessToken({ token })).rejects.toMatchObject({ code: Code.Unauthenticated });
      }
      expect((await t.auth.verifyAccessToken({ token: theirs.accessToken })).subject).toBeTruthy();
    });

    it("an admin lists everyone's grants and revokes all of a user's or all of a client's", async () => {
      const adminTokens = await exchange(t, pub, await authorize(t, pub, { email: "admin@example.com", scope: "mcp:read mcp:manage" }));
      const other = await publicClient(t, {}, "127.0.7.2");
      const g2a = await exchange(t, other, await authorize(t, other, { email: "g2@example.com" }));
      const all = await t.auth.listGrants({}, bearer(adminTokens.accessToken));
      expect(all.grants.map((g) => g.userEmail).sort()).toEqual(["admin@example.com", "g2@example.com", "g2@example.com"]);
      expect((await t.auth.revokeGrant({ clientId: other }, bearer(adminTokens.accessToken))).revoked).toBe(1);
      await expect(t.auth.verifyAccessToken({ token: g2a.accessToken })).rejects.toMatchObject({ code: Code.Unauthenticated });
      expect((await t.auth.revokeGrant({ user: "g2@example.com" }, bearer(adminTokens.accessToken))).revoked).toBe(1);
      expect((await t.auth.listGrants({ user: "g2@example.com" }, bearer(adminTokens.accessToken))).grants).toHaveLength(0);
    });
  });
}

import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { databaseTargets } from "../../support/postgres.js";
import { ADMIN_EMAIL, PASSWORD, type OAuthCore, REDIRECT, authorize, exchange, oauthCodeOf, pkce, publicClient, startOAuthCore } from "./support.js";

const { challenge } = pkce();

for (const target of databaseTargets()) {
  describe(`StartAuthorization (${target.name})`, () => {
    let t: OAuthCore;
    let clientId: string;
    const request = (over: Record<string, unknown> = {}) =>
      t.auth.startAuthorization({
        clientId,
        redirectUri: REDIRECT,
        responseType: "code",
        scope: "mcp:read",
        state: "xyz",
        codeChallenge: challenge,
        codeChallengeMethod: "S256",
        ...over,
      });
    const errorRedirect = async (over: Record<string, unknown>) => {
      const res = await request(over);
      expect(res.next.case).toBe("redirectTo");
      const u = new URL(res.next.value as string);
      expect(u.origin + u.pathname).toBe(REDIRECT);
      expect(u.searchParams.get("state")).toBe("xyz");
      expect(u.searchParams.get("iss")).toBe(t.issuer);
      expect(u.searchParams.get("code")).toBeNull();
      return u.searchParams.get("error");
    };
    const refused = async (over: Record<string, unknown>) => {
      const e = await request(over).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(ConnectError);
      expect((e as ConnectError).code).toBe(Code.InvalidArgument);
      return oauthCodeOf(e);
    };

    beforeAll(async () => {
      t = await startOAuthCore(target);
      await t.core.platform.accounts.create({ email: "plain@example.com", password: PASSWORD });
      clientId = await publicClient(t, { redirect_uris: [REDIRECT, "https://app.example.com/cb"] });
    });
    afterAll(() => t?.close());

    it("refuses an unknown client with InvalidArgument and no redirect", async () => {
      expect(await refused({ clientId: "dcr_does-not-exist" })).toBe("invalid_client");
    });

    it("refuses an unregistered redirect URI with InvalidArgument and no redirect", async () => {
      expect(await refused({ redirectUri: "https://evil.example.com/cb" })).toBe("invalid_request");
    });

    it("refuses an altered redirect URI (extra path, query, fragment, other scheme) with no redirect", async () => {
      for (const altered of [`${REDIRECT}/x`, `${REDIRECT}?next=https://evil.example.com`, `${REDIRECT}#frag`, "https://127.0.0.1:7777/callback", "https://app.example.com/cb/"]) {
        expect(await refused({ redirectUri: altered })).toBe("invalid_request");
      }
    });

    it("accepts a loopback redirect URI on another port (RFC 8252)", async () => {
      const res = await request({ redirectUri: "http://127.0.0.1:9999/callback" });
      expect(res.next.case).toBe("login");
    });

    it("requires redirect_uri when the client has several", async () => {
      expect(await refused({ redirectUri: "" })).toBe("invalid_request");
    });

    it("redirects with invalid_request when PKCE is missing", async () => {
      expect(await errorRedirect({ codeChallenge: "", codeChallengeMethod: "" })).toBe("invalid_request");
    });

    it("redirects with invalid_request for PKCE plain (or no method)", async () => {
      expect(await errorRedirect({ codeChallengeMethod: "plain" })).toBe("invalid_request");
      expect(await errorRedirect({ codeChallengeMethod: "" })).toBe("invalid_request");
    });

    it("redirects with unsupported_response_type for anything but code", async () => {
      expect(await errorRedirect({ responseType: "token" })).toBe("unsupported_response_type");
    });

    it("redirects with invalid_scope for an unknown scope", async () => {
      expect(await errorRedirect({ scope: "mcp:read admin:everything" })).toBe("invalid_scope");
    });

    it("offers a client an administrator limited to fewer scopes only those; none of them is invalid_scope", async () => {
      const admin = await t.core.platform.users.byEmail(ADMIN_EMAIL);
      const manage = await t.core.platform.accessTokens.issue({ subject: admin!.id, userId: admin!.id, clientId: "test", scope: "mcp:manage", audience: t.core.platform.config.mcpResource, ttlSeconds: 60 });
      const created = await t.auth.createClient(
        { metadata: { client_name: "Limited", redirect_uris: [REDIRECT], token_endpoint_auth_method: "none", scope: "mcp:read openid" } as never },
        { headers: { authorization: `Bearer ${manage.token}` } },
      );
      const narrow = created.client!.clientId;
      const res = await t.auth.startAuthorization({ clientId: narrow, redirectUri: REDIRECT, responseType: "code", scope: "mcp:read mcp:execute", codeChallenge: challenge, codeChallengeMethod: "S256" });
      expect((res.next.value as { scopes: { scope: string }[] }).scopes.map((s) => s.scope)).toEqual(["mcp:read"]);
      const none = await t.auth.startAuthorization({ clientId: narrow, redirectUri: REDIRECT, responseType: "code", scope: "mcp:execute", codeChallenge: challenge, codeChallengeMethod: "S256" });
      expect(new URL(none.next.value as string).searchParams.get("error")).toBe("invalid_scope");
    });

    it("lets a self-registered client step up beyond the scope it registered with (MCP clients register with the first challenge's scope)", async () => {
      const dcr = await publicClient(t, { scope: "mcp:read" }, "127.0.0.14");
      const res = await t.auth.startAuthorization({ clientId: dcr, redirectUri: REDIRECT, responseType: "code", scope: "mcp:read mcp:execute", codeChallenge: challenge, codeChallengeMethod: "S256" });
      expect((res.next.value as { scopes: { scope: string }[] }).scopes.map((s) => s.scope)).toEqual(["mcp:read", "mcp:execute"]);
    });

    it("redirects with invalid_target for a resource that is not the platform's", async () => {
      expect(await errorRedirect({ resources: ["https://other.example.com/api"] })).toBe("invalid_target");
    });

    it("redirects with login_required for prompt=none without a session", async () => {
      expect(await errorRedirect({ prompt: "none" })).toBe("login_required");
    });

    it("opens a login interaction with plain-words scopes and a CSRF token", async () => {
      const res = await request({ scope: "mcp:read mcp:execute" });
      expect(res.next.case).toBe("login");
      const i = res.next.value as { id: string; csrfToken: string; redirectHost: string; scopes: { scope: string; description: string }[] };
      expect(i.csrfToken.length).toBeGreaterThan(30);
      expect(i.redirectHost).toBe("127.0.0.1:7777");
      expect(i.scopes.map((s) => s.scope)).toEqual(["mcp:read", "mcp:execute"]);
      expect(i.scopes.every((s) => s.description.length > 5)).toBe(true);
      const got = await t.auth.getInteraction({ id: i.id });
      expect(got.interaction?.csrfToken).toBe("");
      expect(got.interaction?.client?.clientId).toBe(clientId);
    });

    it("canonicalises the resource and binds it to the token audience", async () => {
      const a = await authorize(t, clientId, { email: "plain@example.com", resources: [`${t.mcpResource.replace("http://localhost", "HTTP://LOCALHOST")}/`] });
      const tokens = await exchange(t, clientId, a);
      const v = await t.auth.verifyAccessToken({ token: tokens.accessToken });
      expect(v.audience).toEqual([t.mcpResource]);
    });

    it("an interaction that has expired is refused", async () => {
      const res = await request();
      const i = res.next.value as { id: string };
      t.clock.advance(11 * 60_000);
      await expect(t.auth.getInteraction({ id: i.id })).rejects.toMatchObject({ code: Code.FailedPrecondition });
      await expect(t.auth.getInteraction({ id: "int_unknown" })).rejects.toMatchObject({ code: Code.NotFound });
    });
  });

  describe(`mcp:manage is only for administrators (${target.name})`, () => {
    let t: OAuthCore;
    let clientId: string;
    beforeAll(async () => {
      t = await startOAuthCore(target);
      await t.core.platform.accounts.create({ email: "plain@example.com", password: PASSWORD });
      clientId = await publicClient(t);
    });
    afterAll(() => t?.close());

    it("a non-admin asking for mcp:manage is not offered it and does not get it", async () => {
      const { challenge: c } = pkce();
      const started = await t.auth.startAuthorization({
        clientId,
        redirectUri: REDIRECT,
        responseType: "code",
        scope: "mcp:read mcp:manage",
        codeChallenge: c,
        codeChallengeMethod: "S256",
      });
      const i = started.next.value as { id: string; csrfToken: string };
      const login = await t.auth.login({ interactionId: i.id, csrfToken: i.csrfToken, email: "plain@example.com", password: PASSWORD, remoteAddress: "127.0.0.50" });
      expect(login.next?.next.case).toBe("consent");
      const consent = login.next!.next.value as { scopes: { scope: string }[] };
      expect(consent.scopes.map((s) => s.scope)).toEqual(["mcp:read"]);

      const a = await authorize(t, clientId, { email: "plain@example.com", scope: "mcp:read mcp:manage", address: "127.0.0.50" });
      const tokens = await exchange(t, clientId, a);
      expect(tokens.scope).toBe("mcp:read");
    });

    it("an admin gets mcp:manage, and loses it at the next refresh once demoted", async () => {
      await t.core.platform.accounts.create({ email: "boss@example.com", password: PASSWORD, admin: true });
      const a = await authorize(t, clientId, { email: "boss@example.com", scope: "mcp:read mcp:manage" });
      const tokens = await exchange(t, clientId, a);
      expect(tokens.scope).toBe("mcp:read mcp:manage");
      await t.core.platform.accounts.update("boss@example.com", { admin: false });
      const next = await t.auth.token({ grantType: "refresh_token", refreshToken: tokens.refreshToken, client: { clientId } });
      expect(next.scope).toBe("mcp:read");
    });
  });
}

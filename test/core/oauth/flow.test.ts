import { Code } from "@connectrpc/connect";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { databaseTargets } from "../../support/postgres.js";
import { ADMIN_EMAIL, PASSWORD, type OAuthCore, REDIRECT, authorize, bearer, exchange, publicClient, refresh, startOAuthCore } from "./support.js";

for (const target of databaseTargets()) {
  describe(`the authorization code flow end to end (${target.name})`, () => {
    let t: OAuthCore;
    let clientId: string;
    beforeAll(async () => {
      t = await startOAuthCore(target);
      await t.core.platform.accounts.create({ email: "user@example.com", password: PASSWORD, name: "Uma User" });
      clientId = await publicClient(t);
    });
    afterAll(() => t?.close());

    it("logs in, consents, exchanges the code and refreshes, with iss and state on the redirect", async () => {
      const a = await authorize(t, clientId, { email: "user@example.com", scope: "openid profile email mcp:read offline_access", nonce: "n-123" });
      expect(a.redirect.searchParams.get("iss")).toBe(t.issuer);
      expect(a.redirect.origin + a.redirect.pathname).toBe(REDIRECT);
      const tokens = await exchange(t, clientId, a);
      expect(tokens.tokenType).toBe("Bearer");
      expect(tokens.expiresIn).toBe(3600n);
      expect(tokens.scope).toBe("openid profile email mcp:read offline_access");
      expect(tokens.refreshToken).not.toBe("");
      const at = decodeJwt(tokens.accessToken);
      expect(decodeProtectedHeader(tokens.accessToken).typ).toBe("at+jwt");
      expect(at).toMatchObject({ iss: t.issuer, aud: t.mcpResource, client_id: clientId });
      const id = decodeJwt(tokens.idToken);
      expect(id).toMatchObject({ iss: t.issuer, aud: clientId, nonce: "n-123", email: "user@example.com", name: "Uma User" });
      expect(typeof id.auth_time).toBe("number");

      const info = await t.auth.userInfo({}, bearer(tokens.accessToken));
      expect(info.claims).toMatchObject({ sub: at.sub, email: "user@example.com", name: "Uma User" });

      const next = await refresh(t, clientId, tokens.refreshToken);
      expect(next.refreshToken).not.toBe(tokens.refreshToken);
      expect(next.scope).toBe(tokens.scope);
      const verified = await t.auth.verifyAccessToken({ token: next.accessToken });
      expect(verified.subject).toBe(at.sub);
    });

    it("skips the consent page once the approval is remembered", async () => {
      const first = await authorize(t, clientId, { email: "user@example.com", scope: "mcp:read" });
      const again = await t.auth.startAuthorization({
        clientId,
        redirectUri: REDIRECT,
        responseType: "code",
        scope: "mcp:read",
        state: "s2",
        codeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        codeChallengeMethod: "S256",
        sessionToken: first.sessionToken,
      });
      expect(again.next.case).toBe("redirectTo");
      expect(new URL(again.next.value as string).searchParams.get("code")).toBeTruthy();
    });

    it("prompt=consent shows the consent page even when approved; prompt=none answers consent_required when not", async () => {
      const first = await authorize(t, clientId, { email: "user@example.com", scope: "mcp:read" });
      const base = {
        clientId,
        redirectUri: REDIRECT,
        responseType: "code",
        state: "p",
        codeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        codeChallengeMethod: "S256",
        sessionToken: first.sessionToken,
      };
      expect((await t.auth.startAuthorization({ ...base, scope: "mcp:read", prompt: "consent" })).next.case).toBe("consent");
      const silent = await t.auth.startAuthorization({ ...base, scope: "mcp:read", prompt: "none" });
      expect(new URL(silent.next.value as string).searchParams.get("code")).toBeTruthy();
      const needs = await t.auth.startAuthorization({ ...base, scope: "mcp:read mcp:execute", prompt: "none" });
      expect(new URL(needs.next.value as string).searchParams.get("error")).toBe("consent_required");
      expect((await t.auth.startAuthorization({ ...base, scope: "mcp:read", prompt: "login" })).next.case).toBe("login");
    });

    it("asks again when the client wants more than was approved", async () => {
      const first = await authorize(t, clientId, { email: "user@example.com", scope: "mcp:read" });
      const wider = await t.auth.startAuthorization({
        clientId,
        redirectUri: REDIRECT,
        responseType: "code",
        scope: "mcp:read mcp:execute",
        codeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        codeChallengeMethod: "S256",
        sessionToken: first.sessionToken,
      });
      expect(wider.next.case).toBe("consent");
      if (wider.next.case === "consent") {
        expect(wider.next.value.user?.email).toBe("user@example.com");
        expect(wider.next.value.scopes.map((s) => s.scope)).toEqual(["mcp:read", "mcp:execute"]);
        expect(wider.next.value.redirectHost).toBe("127.0.0.1:7777");
      }
    });

    it("denying consent sends access_denied back to the client", async () => {
      const started = await t.auth.startAuthorization({
        clientId,
        redirectUri: REDIRECT,
        responseType: "code",
        scope: "mcp:execute",
        state: "deny-me",
        codeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        codeChallengeMethod: "S256",
      });
      expect(started.next.case).toBe("login");
      const i = started.next.value as { id: string; csrfToken: string };
      const login = await t.auth.login({ interactionId: i.id, csrfToken: i.csrfToken, email: ADMIN_EMAIL, password: "admin-password-1", remoteAddress: "127.0.0.30" });
      expect(login.next?.next.case).toBe("consent");
      const consent = login.next!.next.value as { id: string; csrfToken: string };
      expect(consent.id).toBe(i.id);
      const denied = await t.auth.decideConsent({ interactionId: consent.id, csrfToken: consent.csrfToken, sessionToken: login.sessionToken, approve: false });
      const u = new URL(denied.redirectTo);
      expect(u.searchParams.get("error")).toBe("access_denied");
      expect(u.searchParams.get("state")).toBe("deny-me");
      expect(u.searchParams.get("iss")).toBe(t.issuer);
      const session = await t.auth.getLoginSession({ sessionToken: login.sessionToken });
      expect(session.user?.email).toBe(ADMIN_EMAIL);
      await t.auth.endLoginSession({ sessionToken: login.sessionToken });
      await expect(t.auth.getLoginSession({ sessionToken: login.sessionToken })).rejects.toMatchObject({ code: Code.Unauthenticated });
    });
  });
}

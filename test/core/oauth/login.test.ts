import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { databaseTargets } from "../../support/postgres.js";
import { PASSWORD, type OAuthCore, REDIRECT, oauthCodeOf, pkce, publicClient, startOAuthCore } from "./support.js";

async function failure(p: Promise<unknown>): Promise<ConnectError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e, "the call should have failed").toBeInstanceOf(ConnectError);
  return e as ConnectError;
}

for (const target of databaseTargets()) {
  describe(`Login and consent (${target.name})`, () => {
    let t: OAuthCore;
    let clientId: string;
    const start = async () => {
      const res = await t.auth.startAuthorization({
        clientId,
        redirectUri: REDIRECT,
        responseType: "code",
        scope: "mcp:read",
        codeChallenge: pkce().challenge,
        codeChallengeMethod: "S256",
      });
      return res.next.value as { id: string; csrfToken: string };
    };
    const login = (i: { id: string; csrfToken: string }, email: string, password: string, address = "127.0.1.1") =>
      t.auth.login({ interactionId: i.id, csrfToken: i.csrfToken, email, password, remoteAddress: address });

    beforeAll(async () => {
      t = await startOAuthCore(target);
      for (const email of ["alice@example.com", "bob@example.com", "carol@example.com", "dave@example.com"]) {
        await t.core.platform.accounts.create({ email, password: PASSWORD });
      }
      await t.core.platform.accounts.update("dave@example.com", { disabled: true });
      clientId = await publicClient(t);
    });
    afterAll(() => t?.close());

    it("wrong password and unknown user get the same Unauthenticated message", async () => {
      const i = await start();
      const wrong = await failure(login(i, "alice@example.com", "not-the-password", "127.0.1.2"));
      const unknown = await failure(login(i, "nobody@example.com", "not-the-password", "127.0.1.2"));
      expect(wrong.code).toBe(Code.Unauthenticated);
      expect(unknown.code).toBe(Code.Unauthenticated);
      expect(wrong.rawMessage).toBe("Invalid email or password.");
      expect(unknown.rawMessage).toBe(wrong.rawMessage);
    });

    it("a disabled user cannot log in, even with the right password", async () => {
      const e = await failure(login(await start(), "dave@example.com", PASSWORD, "127.0.1.3"));
      expect(e.code).toBe(Code.PermissionDenied);
      expect(e.rawMessage).toBe("This account is disabled.");
    });

    it("brute force on one account is throttled with ResourceExhausted and retry-after", async () => {
      const i = await start();
      for (let n = 0; n < 5; n++) {
        expect((await failure(login(i, "bob@example.com", `wrong-${n}-password`, `127.0.2.${n}`))).code).toBe(Code.Unauthenticated);
      }
      const throttled = await failure(login(i, "bob@example.com", PASSWORD, "127.0.2.99"));
      expect(throttled.code).toBe(Code.ResourceExhausted);
      expect(Number(throttled.metadata.get("retry-after"))).toBeGreaterThan(0);
    });

    it("brute force from one address across accounts is throttled", async () => {
      const i = await start();
      let last: ConnectError | undefined;
      for (let n = 0; n < 21; n++) {
        last = await failure(login(i, `user${n}@example.com`, "wrong-password", "127.0.3.1"));
      }
      expect(last!.code).toBe(Code.ResourceExhausted);
      expect(Number(last!.metadata.get("retry-after"))).toBeGreaterThan(0);
    });

    it("login without the interaction's CSRF token is refused", async () => {
      const i = await start();
      for (const csrfToken of ["", "forged-token", (await start()).csrfToken]) {
        const e = await failure(login({ id: i.id, csrfToken }, "carol@example.com", PASSWORD, "127.0.1.4"));
        expect(e.code).toBe(Code.PermissionDenied);
        expect(oauthCodeOf(e)).toBe("access_denied");
      }
    });

    it("consent without the CSRF token, or from another session, is refused; the rotated token works once", async () => {
      const i = await start();
      const ok = await login(i, "carol@example.com", PASSWORD, "127.0.1.5");
      const consent = ok.next!.next.value as { id: string; csrfToken: string };
      expect(consent.csrfToken).not.toBe(i.csrfToken);
      const noCsrf = await failure(t.auth.decideConsent({ interactionId: consent.id, csrfToken: "", sessionToken: ok.sessionToken, approve: true }));
      expect(noCsrf.code).toBe(Code.PermissionDenied);
      const oldCsrf = await failure(t.auth.decideConsent({ interactionId: consent.id, csrfToken: i.csrfToken, sessionToken: ok.sessionToken, approve: true }));
      expect(oldCsrf.code).toBe(Code.PermissionDenied);
      const other = await login(await start(), "alice@example.com", PASSWORD, "127.0.1.6");
      const wrongSession = await failure(
        t.auth.decideConsent({ interactionId: consent.id, csrfToken: consent.csrfToken, sessionToken: other.sessionToken, approve: true }),
      );
      expect(wrongSession.code).toBe(Code.PermissionDenied);
      const done = await t.auth.decideConsent({ interactionId: consent.id, csrfToken: consent.csrfToken, sessionToken: ok.sessionToken, approve: true });
      expect(new URL(done.redirectTo).searchParams.get("code")).toBeTruthy();
      const twice = await failure(t.auth.decideConsent({ interactionId: consent.id, csrfToken: consent.csrfToken, sessionToken: ok.sessionToken, approve: true }));
      expect(twice.code).toBe(Code.NotFound);
    });

    it("a password change or disabling the account ends the user's login sessions", async () => {
      const ok = await login(await start(), "alice@example.com", PASSWORD, "127.0.1.8");
      await t.core.platform.accounts.setPassword("alice@example.com", PASSWORD);
      await expect(t.auth.getLoginSession({ sessionToken: ok.sessionToken })).rejects.toMatchObject({ code: Code.Unauthenticated });
      const again = await login(await start(), "alice@example.com", PASSWORD, "127.0.1.8");
      await t.core.platform.accounts.update("alice@example.com", { disabled: true });
      await t.core.platform.accounts.update("alice@example.com", { disabled: false });
      await expect(t.auth.getLoginSession({ sessionToken: again.sessionToken })).rejects.toMatchObject({ code: Code.Unauthenticated });
    });

    it("a login session expires after 8 hours", async () => {
      const ok = await login(await start(), "alice@example.com", PASSWORD, "127.0.1.7");
      expect((await t.auth.getLoginSession({ sessionToken: ok.sessionToken })).user?.email).toBe("alice@example.com");
      t.clock.advance(8 * 3600_000 + 1);
      await expect(t.auth.getLoginSession({ sessionToken: ok.sessionToken })).rejects.toMatchObject({ code: Code.Unauthenticated });
    });
  });
}

describe.runIf(databaseTargets().some((d) => d.name === "postgres"))("login throttling holds across replicas on PostgreSQL", () => {
  let a: OAuthCore;
  let b: OAuthCore;
  beforeAll(async () => {
    a = await startOAuthCore(databaseTargets().find((d) => d.name === "postgres"));
    b = await startOAuthCore({ name: "sqlite" }, { MESHAI_DATABASE_URL: a.databaseUrl! });
    await a.core.platform.accounts.create({ email: "erin@example.com", password: PASSWORD });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it("failures counted by one replica lock the account on the other", async () => {
    const clientId = await publicClient(a);
    const start = async (t: OAuthCore) =>
      (
        await t.auth.startAuthorization({ clientId, redirectUri: REDIRECT, responseType: "code", codeChallenge: pkce().challenge, codeChallengeMethod: "S256" })
      ).next.value as { id: string; csrfToken: string };
    for (let n = 0; n < 5; n++) {
      const t = n % 2 === 0 ? a : b;
      const i = await start(t);
      const e = await failure(t.auth.login({ interactionId: i.id, csrfToken: i.csrfToken, email: "erin@example.com", password: `wrong-${n}-pass`, remoteAddress: `127.0.9.${n}` }));
      expect(e.code).toBe(Code.Unauthenticated);
    }
    for (const t of [a, b]) {
      const i = await start(t);
      const e = await failure(t.auth.login({ interactionId: i.id, csrfToken: i.csrfToken, email: "erin@example.com", password: PASSWORD, remoteAddress: "127.0.9.50" }));
      expect(e.code).toBe(Code.ResourceExhausted);
    }
  });
});

import { Code, ConnectError } from "@connectrpc/connect";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { databaseTargets } from "../../support/postgres.js";
import { ADMIN_EMAIL, ADMIN_PASSWORD, PASSWORD, type OAuthCore, bearer, startOAuthCore } from "./support.js";

async function failure(p: Promise<unknown>): Promise<ConnectError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e, "the call should have failed").toBeInstanceOf(ConnectError);
  return e as ConnectError;
}

for (const target of databaseTargets()) {
  describe(`Console sign-in and console tokens (${target.name})`, () => {
    let t: OAuthCore;
    let address = 0;

    /** A console sign-in through its login interaction, as the browser does it; returns the session and where it goes. */
    async function signIn(email: string, password: string, next = "/admin") {
      const res = await t.auth.startConsoleSignIn({ next });
      expect(res.next.case).toBe("login");
      const i = res.next.value as { id: string; csrfToken: string };
      const login = await t.auth.login({ interactionId: i.id, csrfToken: i.csrfToken, email, password, remoteAddress: `127.0.3.${++address}` });
      return { sessionToken: login.sessionToken, next: login.next!.next, interaction: i };
    }

    beforeAll(async () => {
      t = await startOAuthCore(target);
      for (const email of ["plain@example.com", "second-admin@example.com", "demoted@example.com"]) {
        await t.core.platform.accounts.create({ email, password: PASSWORD, admin: email !== "plain@example.com" });
      }
    });
    afterAll(() => t?.close());

    describe("StartConsoleSignIn opens a login interaction that no OAuth client is part of and returns to the console", () => {
      it("the login page shows the console, and logging in redirects to the console path asked for", async () => {
        const res = await t.auth.startConsoleSignIn({ next: "/admin/users?query=bob" });
        const i = res.next.value as { id: string; csrfToken: string };
        const { interaction } = await t.auth.getInteraction({ id: i.id });
        expect(interaction?.client?.clientName).toBe("the MeshAI console");
        expect(interaction?.redirectHost).toBe("");
        const login = await t.auth.login({ interactionId: i.id, csrfToken: i.csrfToken, email: ADMIN_EMAIL, password: ADMIN_PASSWORD, remoteAddress: "127.0.3.200" });
        expect(login.sessionToken).toBeTruthy();
        expect(login.next?.next).toEqual({ case: "redirectTo", value: "/admin/users?query=bob" });
        // The interaction is finished: it cannot be replayed.
        const again = await failure(t.auth.login({ interactionId: i.id, csrfToken: i.csrfToken, email: ADMIN_EMAIL, password: ADMIN_PASSWORD, remoteAddress: "127.0.3.200" }));
        expect(again.code).toBe(Code.NotFound);
      });

      it("with a live session it goes straight to the console path", async () => {
        const { sessionToken } = await signIn(ADMIN_EMAIL, ADMIN_PASSWORD);
        const res = await t.auth.startConsoleSignIn({ next: "/admin/grants", sessionToken });
        expect(res.next).toEqual({ case: "redirectTo", value: "/admin/grants" });
        const empty = await t.auth.startConsoleSignIn({ sessionToken });
        expect(empty.next).toEqual({ case: "redirectTo", value: "/admin" });
      });

      it("a console interaction has no consent step", async () => {
        const res = await t.auth.startConsoleSignIn({ next: "/admin" });
        const i = res.next.value as { id: string; csrfToken: string };
        const { sessionToken } = await signIn(ADMIN_EMAIL, ADMIN_PASSWORD);
        const e = await failure(t.auth.decideConsent({ interactionId: i.id, csrfToken: i.csrfToken, sessionToken, approve: true }));
        expect(e.code).toBe(Code.FailedPrecondition);
      });
    });

    describe("StartConsoleSignIn returns only to console paths (no open redirect)", () => {
      for (const next of ["https://evil.example/admin", "//evil.example/admin", "/admin/../oauth/logout", "/administrator", "/oauth/authorize", "/admin\\@evil", "/admin//evil.example", "/admin#x"]) {
        it(`refuses next=${next} with InvalidArgument naming next`, async () => {
          const e = await failure(t.auth.startConsoleSignIn({ next }));
          expect(e.code).toBe(Code.InvalidArgument);
          expect(e.rawMessage).toMatch(/^next: /);
        });
      }
    });

    describe("CreateConsoleToken gives an administrator's live session a short-lived token for the admin RPCs", () => {
      it("the token carries mcp:manage for the issuer audience, lives minutes, and works on admin RPCs", async () => {
        const { sessionToken } = await signIn(ADMIN_EMAIL, ADMIN_PASSWORD);
        const res = await t.auth.createConsoleToken({ sessionToken });
        expect(res.user?.email).toBe(ADMIN_EMAIL);
        expect(res.scope.split(" ")).toContain("mcp:manage");
        const claims = decodeJwt(res.accessToken);
        expect(claims.aud).toBe(t.issuer);
        expect(claims.client_id).toBe("meshai-console");
        const ttl = Number(timestampMs(res.expireTime!)) - t.clock.now();
        expect(ttl).toBeGreaterThan(60_000);
        expect(ttl).toBeLessThanOrEqual(300_000);
        const users = await t.auth.listUsers({}, bearer(res.accessToken));
        expect(users.users.map((u) => u.email)).toContain("plain@example.com");
      });

      it("the console token is not good for the MCP endpoint (its audience is the issuer)", async () => {
        const { sessionToken } = await signIn(ADMIN_EMAIL, ADMIN_PASSWORD);
        const { accessToken } = await t.auth.createConsoleToken({ sessionToken });
        const e = await failure(t.auth.verifyAccessToken({ token: accessToken, resource: t.mcpResource }));
        expect(e.code).toBe(Code.Unauthenticated);
      });
    });

    describe("CreateConsoleToken refuses non-administrators and dead sessions", () => {
      it("a user who is not an administrator gets PermissionDenied", async () => {
        const { sessionToken } = await signIn("plain@example.com", PASSWORD);
        const e = await failure(t.auth.createConsoleToken({ sessionToken }));
        expect(e.code).toBe(Code.PermissionDenied);
      });

      it("no session, an unknown session and an ended session get Unauthenticated", async () => {
        expect((await failure(t.auth.createConsoleToken({ sessionToken: "" }))).code).toBe(Code.Unauthenticated);
        expect((await failure(t.auth.createConsoleToken({ sessionToken: "not-a-session" }))).code).toBe(Code.Unauthenticated);
        const { sessionToken } = await signIn(ADMIN_EMAIL, ADMIN_PASSWORD);
        await t.auth.endLoginSession({ sessionToken });
        expect((await failure(t.auth.createConsoleToken({ sessionToken }))).code).toBe(Code.Unauthenticated);
      });

      it("an expired session gets Unauthenticated", async () => {
        const { sessionToken } = await signIn(ADMIN_EMAIL, ADMIN_PASSWORD);
        t.clock.advance(8 * 3600_000 + 1000);
        try {
          expect((await failure(t.auth.createConsoleToken({ sessionToken }))).code).toBe(Code.Unauthenticated);
        } finally {
          t.clock.advance(-(8 * 3600_000 + 1000));
        }
      });
    });

    describe("losing admin standing ends console access at once", () => {
      it("a disabled administrator's console token is refused on its next call, and no new one is issued", async () => {
        const { sessionToken } = await signIn("second-admin@example.com", PASSWORD);
        const { accessToken } = await t.auth.createConsoleToken({ sessionToken });
        await t.auth.listUsers({}, bearer(accessToken));
        await t.core.platform.accounts.update("second-admin@example.com", { disabled: true });
        expect((await failure(t.auth.listUsers({}, bearer(accessToken)))).code).toBe(Code.Unauthenticated);
        expect((await failure(t.auth.createConsoleToken({ sessionToken }))).code).toBe(Code.Unauthenticated);
        expect((await failure(t.auth.getLoginSession({ sessionToken }))).code).toBe(Code.Unauthenticated);
      });

      it("a user whose admin flag was removed is refused admin RPCs with their live token, and no new token is issued", async () => {
        const { sessionToken } = await signIn("demoted@example.com", PASSWORD);
        const { accessToken } = await t.auth.createConsoleToken({ sessionToken });
        await t.core.platform.accounts.update("demoted@example.com", { admin: false });
        expect((await failure(t.auth.listUsers({}, bearer(accessToken)))).code).toBe(Code.PermissionDenied);
        expect((await failure(t.auth.createConsoleToken({ sessionToken }))).code).toBe(Code.PermissionDenied);
        const { user } = await t.auth.getLoginSession({ sessionToken });
        expect(user?.admin).toBe(false);
      });
    });
  });
}

import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { databaseTargets } from "../../support/postgres.js";
import { PASSWORD, type OAuthCore, authorize, bearer, exchange, oauthCodeOf, pkce, publicClient, refresh, startOAuthCore } from "./support.js";

const EMAIL = "tok@example.com";

async function failure(p: Promise<unknown>): Promise<{ code: Code; oauth: string | null; message: string }> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e, "the call should have failed").toBeInstanceOf(ConnectError);
  return { code: (e as ConnectError).code, oauth: oauthCodeOf(e), message: (e as ConnectError).rawMessage };
}

for (const target of databaseTargets()) {
  describe(`token endpoint: authorization_code (${target.name})`, () => {
    let t: OAuthCore;
    let clientId: string;
    beforeAll(async () => {
      t = await startOAuthCore(target);
      await t.core.platform.accounts.create({ email: EMAIL, password: PASSWORD });
      clientId = await publicClient(t);
    });
    afterAll(() => t?.close());

    it("a replayed code is refused and revokes the tokens the code issued", async () => {
      const a = await authorize(t, clientId, { email: EMAIL, scope: "mcp:read openid" });
      const tokens = await exchange(t, clientId, a);
      await t.auth.listGrants({}, bearer(tokens.accessToken));
      const replay = await failure(exchange(t, clientId, a));
      expect(replay).toMatchObject({ code: Code.InvalidArgument, oauth: "invalid_grant" });
      await expect(t.auth.listGrants({}, bearer(tokens.accessToken))).rejects.toMatchObject({ code: Code.Unauthenticated });
      expect(await failure(refresh(t, clientId, tokens.refreshToken))).toMatchObject({ oauth: "invalid_grant" });
    });

    it("concurrent redemptions of one code: exactly one wins", async () => {
      const a = await authorize(t, clientId, { email: EMAIL });
      const results = await Promise.allSettled([exchange(t, clientId, a), exchange(t, clientId, a), exchange(t, clientId, a)]);
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    });

    it("a missing PKCE verifier is refused", async () => {
      const a = await authorize(t, clientId, { email: EMAIL });
      expect(await failure(exchange(t, clientId, a, { codeVerifier: "" }))).toMatchObject({ oauth: "invalid_grant" });
    });

    it("a wrong PKCE verifier is refused", async () => {
      const a = await authorize(t, clientId, { email: EMAIL });
      expect(await failure(exchange(t, clientId, a, { codeVerifier: pkce().verifier }))).toMatchObject({ oauth: "invalid_grant" });
    });

    it("the plain method (verifier equal to the challenge) is refused", async () => {
      const a = await authorize(t, clientId, { email: EMAIL });
      const challenge = (await import("node:crypto")).createHash("sha256").update(a.verifier).digest("base64url");
      expect(await failure(exchange(t, clientId, a, { codeVerifier: challenge }))).toMatchObject({ oauth: "invalid_grant" });
    });

    it("an expired code is refused", async () => {
      const a = await authorize(t, clientId, { email: EMAIL });
      t.clock.advance(5 * 60_000 + 1);
      expect(await failure(exchange(t, clientId, a))).toMatchObject({ oauth: "invalid_grant", message: "code: has expired" });
    });

    it("a redirect_uri different from the authorization request is refused", async () => {
      const a = await authorize(t, clientId, { email: EMAIL });
      expect(await failure(exchange(t, clientId, a, { redirectUri: "http://127.0.0.1:7777/other" }))).toMatchObject({ oauth: "invalid_grant" });
    });

    it("a code is refused for another client", async () => {
      const other = await publicClient(t, {}, "127.0.0.12");
      const a = await authorize(t, clientId, { email: EMAIL });
      expect(await failure(exchange(t, other, a, { client: { clientId: other } }))).toMatchObject({ oauth: "invalid_grant" });
    });

    it("an unknown client is refused with invalid_client", async () => {
      const a = await authorize(t, clientId, { email: EMAIL });
      expect(await failure(exchange(t, "dcr_nobody", a, { client: { clientId: "dcr_nobody" } }))).toMatchObject({
        code: Code.Unauthenticated,
        oauth: "invalid_client",
      });
    });

    it("a resource outside the code's is refused with invalid_target", async () => {
      const a = await authorize(t, clientId, { email: EMAIL });
      expect(await failure(exchange(t, clientId, a, { resources: [t.issuer] }))).toMatchObject({ oauth: "invalid_target" });
    });

    it("an unsupported grant type is refused", async () => {
      expect(await failure(t.auth.token({ grantType: "password", client: { clientId } }))).toMatchObject({ oauth: "unsupported_grant_type" });
    });
  });

  describe(`token endpoint: refresh rotation (${target.name})`, () => {
    let t: OAuthCore;
    let clientId: string;
    const fresh = async (scope = "mcp:read mcp:execute") => exchange(t, clientId, await authorize(t, clientId, { email: EMAIL, scope }));
    beforeAll(async () => {
      t = await startOAuthCore(target);
      await t.core.platform.accounts.create({ email: EMAIL, password: PASSWORD });
      clientId = await publicClient(t);
    });
    afterAll(() => t?.close());

    it("reuse of the immediate predecessor inside the grace window is allowed once", async () => {
      const first = await fresh();
      const second = await refresh(t, clientId, first.refreshToken);
      t.clock.advance(10_000);
      const retry = await refresh(t, clientId, first.refreshToken);
      expect(retry.refreshToken).not.toBe(second.refreshToken);
      // The successor it replaced is retired; the retry's pair is the live one.
      expect(await failure(refresh(t, clientId, second.refreshToken))).toMatchObject({ oauth: "invalid_grant" });
      const third = await refresh(t, clientId, retry.refreshToken);
      expect(third.accessToken).toBeTruthy();
    });

    it("two concurrent refreshes with one token (a client's parallel retry) both succeed and the grant survives", async () => {
      const first = await fresh();
      const both = await Promise.all([refresh(t, clientId, first.refreshToken), refresh(t, clientId, first.refreshToken)]);
      const live = await Promise.allSettled(both.map((r) => refresh(t, clientId, r.refreshToken)));
      expect(live.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      expect((await t.auth.verifyAccessToken({ token: both[0].accessToken })).subject).toBeTruthy();
    });

    it("an access token whose grant was revoked after it was issued is refused, even if its own row was missed", async () => {
      const tokens = await fresh();
      // What a revocation racing the issuance leaves behind: the grant revoked, the token's row not.
      const { grantId } = (await t.core.platform.db.knex("access_tokens").whereNotNull("grant_id").orderBy("created_at", "desc").first("grant_id as grantId")) as { grantId: string };
      await t.core.platform.db.knex("grants").where({ id: grantId }).update({ revoked_at: t.clock.now() });
      await expect(t.auth.verifyAccessToken({ token: tokens.accessToken })).rejects.toMatchObject({ code: Code.Unauthenticated });
      expect(await failure(refresh(t, clientId, tokens.refreshToken))).toMatchObject({ oauth: "invalid_grant" });
    });

    it("a second reuse inside the grace window revokes the grant", async () => {
      const first = await fresh();
      await refresh(t, clientId, first.refreshToken);
      const retry = await refresh(t, clientId, first.refreshToken);
      expect(await failure(refresh(t, clientId, first.refreshToken))).toMatchObject({ oauth: "invalid_grant" });
      await expect(t.auth.verifyAccessToken({ token: retry.accessToken })).rejects.toMatchObject({ code: Code.Unauthenticated });
    });

    it("reuse outside the grace window revokes the grant and its access tokens are refused on the next RPC", async () => {
      const first = await fresh();
      const second = await refresh(t, clientId, first.refreshToken);
      await t.auth.listGrants({}, bearer(second.accessToken));
      t.clock.advance(61_000);
      expect(await failure(refresh(t, clientId, first.refreshToken))).toMatchObject({ code: Code.InvalidArgument, oauth: "invalid_grant" });
      await expect(t.auth.listGrants({}, bearer(second.accessToken))).rejects.toMatchObject({ code: Code.Unauthenticated });
      await expect(t.auth.listGrants({}, bearer(first.accessToken))).rejects.toMatchObject({ code: Code.Unauthenticated });
      expect(await failure(refresh(t, clientId, second.refreshToken))).toMatchObject({ oauth: "invalid_grant" });
    });

    it("reuse of an older ancestor (not the immediate predecessor) revokes the grant even inside the window", async () => {
      const first = await fresh();
      const second = await refresh(t, clientId, first.refreshToken);
      const third = await refresh(t, clientId, second.refreshToken);
      expect(await failure(refresh(t, clientId, first.refreshToken))).toMatchObject({ oauth: "invalid_grant" });
      expect(await failure(refresh(t, clientId, third.refreshToken))).toMatchObject({ oauth: "invalid_grant" });
    });

    it("scope widening on refresh is refused, without spending the refresh token", async () => {
      const first = await fresh("mcp:read");
      expect(await failure(refresh(t, clientId, first.refreshToken, { scope: "mcp:read mcp:execute" }))).toMatchObject({ oauth: "invalid_scope" });
      expect((await refresh(t, clientId, first.refreshToken)).scope).toBe("mcp:read");
    });

    it("scope may narrow on refresh, and the next refresh may return to the original scope", async () => {
      const first = await fresh("mcp:read mcp:execute");
      const narrow = await refresh(t, clientId, first.refreshToken, { scope: "mcp:read" });
      expect(narrow.scope).toBe("mcp:read");
      const back = await refresh(t, clientId, narrow.refreshToken);
      expect(back.scope).toBe("mcp:read mcp:execute");
    });

    it("the refresh family's lifetime is capped at 30 days however often it rotates", async () => {
      let tokens = await fresh();
      for (let day = 0; day < 3; day++) {
        t.clock.advance(12 * 24 * 3600_000);
        if (day < 2) tokens = await refresh(t, clientId, tokens.refreshToken);
      }
      expect(await failure(refresh(t, clientId, tokens.refreshToken))).toMatchObject({ oauth: "invalid_grant" });
    });

    it("a refresh token is refused for another client", async () => {
      const first = await fresh();
      const other = await publicClient(t, {}, "127.0.0.13");
      expect(await failure(refresh(t, other, first.refreshToken, { client: { clientId: other } }))).toMatchObject({ oauth: "invalid_grant" });
    });

    it("a disabled user's refresh is refused", async () => {
      await t.core.platform.accounts.create({ email: "soon-disabled@example.com", password: PASSWORD });
      const tokens = await exchange(t, clientId, await authorize(t, clientId, { email: "soon-disabled@example.com" }));
      await t.core.platform.accounts.update("soon-disabled@example.com", { disabled: true });
      expect(await failure(refresh(t, clientId, tokens.refreshToken))).toMatchObject({ oauth: "invalid_grant" });
    });
  });
}

describe.runIf(databaseTargets().some((d) => d.name === "postgres"))("single use holds across two replicas on one PostgreSQL database", () => {
  let a: OAuthCore;
  let b: OAuthCore;
  let clientId: string;
  beforeAll(async () => {
    a = await startOAuthCore(databaseTargets().find((d) => d.name === "postgres"));
    b = await startOAuthCore({ name: "sqlite" }, { MESHAI_DATABASE_URL: a.databaseUrl! });
    await a.core.platform.accounts.create({ email: EMAIL, password: PASSWORD });
    clientId = await publicClient(a);
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it("a code redeemed at both replicas at once is accepted at most once, and the replay leaves no token of it alive", async () => {
    for (let round = 0; round < 5; round++) {
      const code = await authorize(a, clientId, { email: EMAIL });
      const results = await Promise.allSettled([exchange(a, clientId, code), exchange(b, clientId, code), exchange(b, clientId, code)]);
      const accepted = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
      expect(accepted.length).toBeLessThanOrEqual(1);
      for (const r of results) if (r.status === "rejected") expect(oauthCodeOf(r.reason)).toBe("invalid_grant");
      // RFC 6749 4.1.2: a code used twice revokes what it issued, even to the request that won the race.
      for (const tokens of accepted) {
        await expect(a.auth.verifyAccessToken({ token: tokens.accessToken })).rejects.toMatchObject({ code: Code.Unauthenticated });
        await expect(b.auth.verifyAccessToken({ token: tokens.accessToken })).rejects.toMatchObject({ code: Code.Unauthenticated });
        expect(await failure(refresh(b, clientId, tokens.refreshToken))).toMatchObject({ oauth: "invalid_grant" });
      }
    }
  });

  it("a refresh token rotated at one replica and reused outside the grace window at the other revokes the grant", async () => {
    const first = await exchange(a, clientId, await authorize(a, clientId, { email: EMAIL }));
    const second = await refresh(a, clientId, first.refreshToken);
    b.clock.advance(61_000);
    expect(await failure(refresh(b, clientId, first.refreshToken))).toMatchObject({ oauth: "invalid_grant" });
    await expect(a.auth.verifyAccessToken({ token: second.accessToken })).rejects.toMatchObject({ code: Code.Unauthenticated });
  });
});

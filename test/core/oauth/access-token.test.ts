import { createHmac } from "node:crypto";
import { Code } from "@connectrpc/connect";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PASSWORD, type OAuthCore, authorize, bearer, exchange, publicClient, startOAuthCore } from "./support.js";

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");

describe("the core refuses access tokens that are not exactly what it issued", () => {
  let t: OAuthCore;
  let clientId: string;
  let token: string;
  beforeAll(async () => {
    t = await startOAuthCore();
    await t.core.platform.accounts.create({ email: "at@example.com", password: PASSWORD });
    clientId = await publicClient(t);
    token = (await exchange(t, clientId, await authorize(t, clientId, { email: "at@example.com" }))).accessToken;
  });
  afterAll(() => t?.close());

  const refused = (tok: string, resource = "") => expect(t.auth.verifyAccessToken({ token: tok, resource })).rejects.toMatchObject({ code: Code.Unauthenticated });

  it("accepts the token as issued, on a protected RPC too", async () => {
    expect((await t.auth.verifyAccessToken({ token })).clientId).toBe(clientId);
    await t.auth.listGrants({}, bearer(token));
  });

  it("refuses a token for another audience", async () => {
    await refused(token, t.issuer);
  });

  it("refuses alg: none", async () => {
    const payload = decodeJwt(token);
    await refused(`${b64({ alg: "none", typ: "at+jwt" })}.${b64(payload)}.`);
  });

  it("refuses an HS256 token signed with the public key as the secret", async () => {
    const { kid } = decodeProtectedHeader(token);
    const jwks = JSON.parse((await t.auth.getJwks({})).jwksJson) as { keys: Array<{ kid: string }> };
    const pub = JSON.stringify(jwks.keys.find((k) => k.kid === kid));
    const head = b64({ alg: "HS256", typ: "at+jwt", kid });
    const body = b64(decodeJwt(token));
    const sig = createHmac("sha256", pub).update(`${head}.${body}`).digest("base64url");
    await refused(`${head}.${body}.${sig}`);
  });

  it("refuses a token whose payload was altered (scope widened)", async () => {
    const [head, , sig] = token.split(".");
    await refused(`${head}.${b64({ ...decodeJwt(token), scope: "mcp:read mcp:manage" })}.${sig}`);
  });

  it("refuses a revoked token on the next RPC", async () => {
    const tok = (await exchange(t, clientId, await authorize(t, clientId, { email: "at@example.com" }))).accessToken;
    await t.auth.revoke({ token: tok, client: { clientId } });
    await expect(t.auth.listGrants({}, bearer(tok))).rejects.toMatchObject({ code: Code.Unauthenticated });
  });

  it("refuses an expired token", async () => {
    t.clock.advance(3600_000 + 1000);
    await refused(token);
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, type OAuthStack, startOAuthStack } from "./harness.js";

// `meshai keys rotate` (KeyRing.rotate, as the CLI runs it): the new key signs from then on, the old
// one keeps verifying the tokens it signed, and both are published until the old tokens have expired.
let stack: OAuthStack;

beforeAll(async () => {
  stack = await startOAuthStack();
});
afterAll(() => stack?.close());

const kidOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split(".")[0]!, "base64url").toString()).kid as string;
const jwksKids = async () => ((await (await fetch(`${stack.issuer}/oauth/jwks`)).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
const userinfo = (token: string) => fetch(`${stack.issuer}/oauth/userinfo`, { headers: { authorization: `Bearer ${token}` } });

describe("signing key rotation", () => {
  it("signs new tokens with the new key while tokens signed by the old key keep working, and publishes both", async () => {
    const before = await stack.t.token("openid email", ADMIN.email);
    const oldKid = kidOf(before);
    expect(await jwksKids()).toEqual([oldKid]);

    const newKid = await stack.t.core.platform.keys.rotate(stack.t.config.accessTokenTtl * 1000);
    expect(newKid).not.toBe(oldKid);

    const after = await stack.t.token("openid email", ADMIN.email);
    expect(kidOf(after)).toBe(newKid);
    expect((await jwksKids()).sort()).toEqual([oldKid, newKid].sort());
    expect((await userinfo(before)).status).toBe(200);
    expect((await userinfo(after)).status).toBe(200);
  });
});

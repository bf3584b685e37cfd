import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, type OAuthStack, startOAuthStack } from "./harness.js";
import { HttpAgent, hiddenFields } from "./http-agent.js";

// Production runs behind TLS with an https issuer while the facade itself may listen on plain http
// (the proxy terminates TLS). The cookies must still be Secure, and HSTS must be sent.
let stack: OAuthStack;
const REDIRECT = "https://app.example/callback";

beforeAll(async () => {
  stack = await startOAuthStack({ MESHAI_ISSUER: "https://auth.example.test" });
});
afterAll(() => stack?.close());

describe("with an https issuer the session and CSRF cookies are Secure", () => {
  it("marks meshai_csrf and meshai_session Secure even though this hop is plain http, and sends HSTS", async () => {
    const base = stack.facade.url;
    const reg = await fetch(`${base}/oauth/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ client_name: "https app", redirect_uris: [REDIRECT], token_endpoint_auth_method: "none" }),
    });
    const { client_id } = (await reg.json()) as { client_id: string };
    const agent = new HttpAgent(base);
    const challenge = createHash("sha256").update(randomBytes(32).toString("base64url")).digest("base64url");
    const q = new URLSearchParams({ response_type: "code", client_id, redirect_uri: REDIRECT, code_challenge: challenge, code_challenge_method: "S256", state: "s" });
    const start = await agent.get(`/oauth/authorize?${q}`);
    expect(start.status).toBe(303);
    expect(start.headers.get("strict-transport-security")).toMatch(/max-age=\d+/);
    expect(start.headers.getSetCookie().find((c) => c.startsWith("meshai_csrf="))).toMatch(/; Secure$/);
    const fields = hiddenFields(await (await agent.get(start.headers.get("location")!)).text());
    const login = await agent.post("/oauth/login", { ...fields, ...ADMIN });
    expect(login.status).toBe(303);
    expect(login.headers.getSetCookie().find((c) => c.startsWith("meshai_session="))).toMatch(/; HttpOnly; SameSite=Lax; Expires=[^;]+; Secure$/);
  });
});

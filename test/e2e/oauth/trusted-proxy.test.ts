import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OAuthStack, startOAuthStack } from "./harness.js";
import { HttpAgent, hiddenFields } from "./http-agent.js";

// Behind a reverse proxy every request comes from the proxy's address; the per-address sign-in
// throttle must see the client's address instead, and only as far as the configured proxies vouch for it.
const REDIRECT = "http://127.0.0.1:9/callback";

async function loginForm(stack: OAuthStack, clientId: string, xff: string) {
  const agent = new HttpAgent(stack.issuer);
  const challenge = createHash("sha256").update(randomBytes(32).toString("base64url")).digest("base64url");
  const q = new URLSearchParams({ response_type: "code", client_id: clientId, redirect_uri: REDIRECT, code_challenge: challenge, code_challenge_method: "S256" });
  const start = await agent.get(`/oauth/authorize?${q}`, { "x-forwarded-for": xff });
  const page = await agent.get(start.headers.get("location")!, { "x-forwarded-for": xff });
  return { agent, fields: hiddenFields(await page.text()) };
}

async function register(stack: OAuthStack): Promise<string> {
  const res = await fetch(`${stack.issuer}/oauth/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ client_name: "proxy test", redirect_uris: [REDIRECT], token_endpoint_auth_method: "none" }),
  });
  return ((await res.json()) as { client_id: string }).client_id;
}

/** 20 failed sign-ins (the per-address limit), each for a different unknown account, claiming `xff`. */
async function failFromAddress(stack: OAuthStack, clientId: string, xff: string): Promise<Response> {
  const { agent, fields } = await loginForm(stack, clientId, xff);
  let last: Response | undefined;
  for (let i = 0; i < 21; i++) {
    last = await agent.post("/oauth/login", { ...fields, email: `nobody-${i}@example.com`, password: "wrong-password" }, { "x-forwarded-for": xff });
    await last.text();
    if (last.status === 429) break;
  }
  return last!;
}

describe("with MESHAI_TRUST_PROXY=1 the throttle keys on the address the proxy saw", () => {
  let stack: OAuthStack;
  let clientId: string;
  beforeAll(async () => {
    stack = await startOAuthStack({ MESHAI_TRUST_PROXY: "1" });
    clientId = await register(stack);
  });
  afterAll(() => stack?.close());

  it("locks out one client address without locking out another behind the same proxy", async () => {
    const locked = await failFromAddress(stack, clientId, "203.0.113.7");
    expect(locked.status).toBe(429);
    const { agent, fields } = await loginForm(stack, clientId, "198.51.100.9");
    const other = await agent.post("/oauth/login", { ...fields, email: "someone@example.com", password: "wrong-password" }, { "x-forwarded-for": "198.51.100.9" });
    expect(other.status).toBe(400);
  });

  it("a client cannot escape the lockout by forging an earlier X-Forwarded-For entry", async () => {
    const { agent, fields } = await loginForm(stack, clientId, "203.0.113.7");
    const forged = await agent.post("/oauth/login", { ...fields, email: "x@example.com", password: "wrong-password" }, { "x-forwarded-for": "192.0.2.55, 203.0.113.7" });
    expect(forged.status).toBe(429);
  });
});

describe("without MESHAI_TRUST_PROXY the X-Forwarded-For header is ignored", () => {
  let stack: OAuthStack;
  let clientId: string;
  beforeAll(async () => {
    stack = await startOAuthStack();
    clientId = await register(stack);
  });
  afterAll(() => stack?.close());

  it("a client cannot spread its attempts over invented addresses", async () => {
    const { agent, fields } = await loginForm(stack, clientId, "x");
    let last: Response | undefined;
    for (let i = 0; i < 21; i++) {
      last = await agent.post("/oauth/login", { ...fields, email: `nobody-${i}@example.com`, password: "wrong-password" }, { "x-forwarded-for": `192.0.2.${i}` });
      await last.text();
      if (last.status === 429) break;
    }
    expect(last!.status).toBe(429);
  });
});

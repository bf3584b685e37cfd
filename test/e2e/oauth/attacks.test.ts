import { createHash, randomBytes } from "node:crypto";
import { SignJWT, exportSPKI, importJWK } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, type OAuthStack, startOAuthStack } from "./harness.js";
import { HttpAgent, hiddenFields } from "./http-agent.js";

// Named attacks at the HTTP level, against the real facade and core: what a hostile page, client or token can try.
let stack: OAuthStack;
let client: { client_id: string };
const REDIRECT = "http://127.0.0.1:9/callback";
const verifier = randomBytes(32).toString("base64url");
const challenge = createHash("sha256").update(verifier).digest("base64url");

beforeAll(async () => {
  stack = await startOAuthStack();
  client = await registerClient({ client_name: "Attack Test", redirect_uris: [REDIRECT], token_endpoint_auth_method: "none" });
});
afterAll(async () => {
  await stack?.close();
});

async function registerClient(metadata: Record<string, unknown>): Promise<{ client_id: string; client_secret?: string }> {
  const res = await fetch(`${stack.issuer}/oauth/register`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(metadata) });
  if (res.status !== 201) throw new Error(`registration answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as { client_id: string; client_secret?: string };
}

function authorizePath(params: Record<string, string> = {}): string {
  const q = new URLSearchParams({
    response_type: "code",
    client_id: client.client_id,
    redirect_uri: REDIRECT,
    scope: "openid email mcp:read",
    state: "st-1",
    code_challenge: challenge,
    code_challenge_method: "S256",
    ...params,
  });
  return `/oauth/authorize?${q}`;
}

/** Opens an interaction in `agent` and returns the login page's hidden fields. */
async function openLogin(agent: HttpAgent, params: Record<string, string> = {}) {
  const res = await agent.get(authorizePath(params));
  expect(res.status).toBe(303);
  const login = res.headers.get("location")!;
  expect(login).toMatch(/^\/oauth\/login\?interaction=/);
  const page = await agent.get(login);
  expect(page.status).toBe(200);
  const html = await page.text();
  return { path: login, page, html, fields: hiddenFields(html) };
}

/** Signs in and returns the consent page's path and hidden fields (prompt=consent: approvals are remembered). */
async function openConsent(agent: HttpAgent, who = ADMIN) {
  const { fields } = await openLogin(agent, { prompt: "consent" });
  const res = await agent.post("/oauth/login", { ...fields, email: who.email, password: who.password });
  expect(res.status).toBe(303);
  const consent = res.headers.get("location")!;
  expect(consent).toMatch(/^\/oauth\/consent\?interaction=/);
  const page = await agent.get(consent);
  expect(page.status).toBe(200);
  return { path: consent, page, fields: hiddenFields(await page.text()) };
}

/** The whole browser part over HTTP: a code for `client`, approved by the admin. */
async function approvedCode(): Promise<string> {
  const agent = new HttpAgent(stack.issuer);
  const { fields } = await openConsent(agent);
  return new URL((await agent.post("/oauth/consent", { ...fields, decision: "approve" })).headers.get("location")!).searchParams.get("code")!;
}

const codeExchange = (code: string) =>
  `grant_type=authorization_code&code=${code}&code_verifier=${verifier}&redirect_uri=${encodeURIComponent(REDIRECT)}&client_id=${client.client_id}`;

async function expectErrorPageWithoutRedirect(res: Response) {
  expect(res.status).toBe(400);
  expect(res.headers.get("location")).toBeNull();
  expect(res.headers.get("content-type")).toMatch(/^text\/html/);
  expect(await res.text()).toMatch(/<h1>[^<]+<\/h1>/);
}

describe("an unregistered or altered redirect URI gets an error page, never a redirect", () => {
  it("refuses a redirect URI the client never registered", async () => {
    await expectErrorPageWithoutRedirect(await fetch(`${stack.issuer}${authorizePath({ redirect_uri: "https://attacker.example/callback" })}`, { redirect: "manual" }));
  });

  it("refuses the registered URI with an extra path, a query, another scheme or another host", async () => {
    for (const altered of [
      `${REDIRECT}/more`,
      `${REDIRECT}?next=https://attacker.example`,
      REDIRECT.replace("http:", "https:"),
      REDIRECT.replace("127.0.0.1", "127.0.0.1.attacker.example"),
    ]) {
      await expectErrorPageWithoutRedirect(await fetch(`${stack.issuer}${authorizePath({ redirect_uri: altered })}`, { redirect: "manual" }));
    }
  });

  it("refuses an unknown client with an error page", async () => {
    await expectErrorPageWithoutRedirect(await fetch(`${stack.issuer}${authorizePath({ client_id: "no-such-client" })}`, { redirect: "manual" }));
  });

  it("refuses a metadata-document client_id that points at a private address (SSRF guard), with a page", async () => {
    for (const target of ["https://127.0.0.1/client.json", "https://10.0.0.1/client.json", "https://[::1]/client.json", "https://169.254.169.254/latest/meta-data/client.json"]) {
      await expectErrorPageWithoutRedirect(await fetch(`${stack.issuer}${authorizePath({ client_id: target })}`, { redirect: "manual" }));
    }
  });

  it("refuses a repeated redirect_uri parameter instead of picking one", async () => {
    const path = `${authorizePath()}&redirect_uri=${encodeURIComponent("https://attacker.example/cb")}`;
    await expectErrorPageWithoutRedirect(await fetch(`${stack.issuer}${path}`, { redirect: "manual" }));
  });
});

describe("open-redirect attempts lead nowhere", () => {
  it("refuses protocol-relative, userinfo and javascript: redirect URIs without redirecting", async () => {
    for (const target of ["//attacker.example/callback", "http://127.0.0.1:9@attacker.example/callback", "javascript:alert(document.cookie)", "https://attacker.example%2F@127.0.0.1:9/callback"]) {
      await expectErrorPageWithoutRedirect(await fetch(`${stack.issuer}${authorizePath({ redirect_uri: target })}`, { redirect: "manual" }));
    }
  });

  it("sends protocol errors of a valid client only to its registered redirect URI, with state and iss", async () => {
    const res = await fetch(`${stack.issuer}${authorizePath({ response_type: "token" })}`, { redirect: "manual" });
    expect(res.status).toBe(303);
    const to = new URL(res.headers.get("location")!);
    expect(`${to.origin}${to.pathname}`).toBe(REDIRECT);
    expect(to.searchParams.get("error")).toBe("unsupported_response_type");
    expect(to.searchParams.get("state")).toBe("st-1");
    expect(to.searchParams.get("iss")).toBe(stack.issuer);
  });

  it("logout ignores any redirect parameter and shows its own page", async () => {
    const res = await fetch(`${stack.issuer}/oauth/logout?post_logout_redirect_uri=https://attacker.example&redirect_uri=https://attacker.example&next=https://attacker.example`, { redirect: "manual" });
    expect(res.status).toBe(200);
    expect(res.headers.get("location")).toBeNull();
    expect(await res.text()).not.toContain("attacker.example");
  });
});

describe("login and consent POSTs without the interaction's CSRF token are refused", () => {
  it("refuses a login POST without csrf_token and sets no session", async () => {
    const agent = new HttpAgent(stack.issuer);
    const { fields } = await openLogin(agent);
    const res = await agent.post("/oauth/login", { interaction: fields.interaction!, email: ADMIN.email, password: ADMIN.password });
    expect(res.status).toBe(403);
    expect(res.headers.get("location")).toBeNull();
    expect(agent.cookies.has("meshai_session")).toBe(false);
  });

  it("refuses a login POST whose csrf_token does not match the cookie (a forged cross-site form)", async () => {
    const agent = new HttpAgent(stack.issuer);
    const { fields } = await openLogin(agent);
    agent.cookies.set("meshai_csrf", randomBytes(32).toString("base64url"));
    const res = await agent.post("/oauth/login", { ...fields, email: ADMIN.email, password: ADMIN.password });
    expect(res.status).toBe(403);
    expect(agent.cookies.has("meshai_session")).toBe(false);
  });

  it("refuses a login POST carrying a valid token but no cookie (another browser)", async () => {
    const { fields } = await openLogin(new HttpAgent(stack.issuer));
    const res = await new HttpAgent(stack.issuer).post("/oauth/login", { ...fields, email: ADMIN.email, password: ADMIN.password });
    expect(res.status).toBe(403);
    expect(res.headers.getSetCookie().some((c) => c.startsWith("meshai_session="))).toBe(false);
  });

  it("refuses a login POST whose matching cookie and field belong to another interaction", async () => {
    const agent = new HttpAgent(stack.issuer);
    const first = await openLogin(agent);
    const second = await openLogin(agent); // the cookie now holds the second interaction's token
    const res = await agent.post("/oauth/login", { ...second.fields, interaction: first.fields.interaction!, email: ADMIN.email, password: ADMIN.password });
    expect(res.status).toBe(403);
    expect(agent.cookies.has("meshai_session")).toBe(false);
  });

  it("refuses a consent POST without csrf_token and does not redirect to the client", async () => {
    const agent = new HttpAgent(stack.issuer);
    const { fields } = await openConsent(agent);
    const res = await agent.post("/oauth/consent", { interaction: fields.interaction!, decision: "approve" });
    expect(res.status).toBe(403);
    expect(res.headers.get("location")).toBeNull();
  });

  it("refuses a consent POST whose csrf_token does not match the cookie", async () => {
    const agent = new HttpAgent(stack.issuer);
    const { fields } = await openConsent(agent);
    const res = await agent.post("/oauth/consent", { ...fields, csrf_token: randomBytes(32).toString("base64url"), decision: "approve" });
    expect(res.status).toBe(403);
    expect(res.headers.get("location")).toBeNull();
  });

  it("the genuine form works: 303 to consent, then 303 to the client with code, state and iss", async () => {
    const agent = new HttpAgent(stack.issuer);
    const { fields } = await openConsent(agent);
    const res = await agent.post("/oauth/consent", { ...fields, decision: "approve" });
    expect(res.status).toBe(303);
    const to = new URL(res.headers.get("location")!);
    expect(`${to.origin}${to.pathname}`).toBe(REDIRECT);
    expect(to.searchParams.get("code")).toBeTruthy();
    expect(to.searchParams.get("state")).toBe("st-1");
    expect(to.searchParams.get("iss")).toBe(stack.issuer);
  });

  it("Deny sends the browser back with access_denied, state and iss, and no code", async () => {
    const agent = new HttpAgent(stack.issuer);
    const { fields } = await openConsent(agent);
    const res = await agent.post("/oauth/consent", { ...fields, decision: "deny" });
    expect(res.status).toBe(303);
    const to = new URL(res.headers.get("location")!);
    expect(`${to.origin}${to.pathname}`).toBe(REDIRECT);
    expect(to.searchParams.get("error")).toBe("access_denied");
    expect(to.searchParams.get("code")).toBeNull();
    expect(to.searchParams.get("state")).toBe("st-1");
    expect(to.searchParams.get("iss")).toBe(stack.issuer);
  });

  it("shows the stale-link page, not a form, when the login page is opened without the CSRF cookie", async () => {
    const { path } = await openLogin(new HttpAgent(stack.issuer));
    const res = await new HttpAgent(stack.issuer).get(path);
    expect(res.status).toBe(403);
    expect(await res.text()).toMatch(/opened in another browser/);
  });
});

describe("prompt=none never shows a page", () => {
  it("answers login_required to the client when the browser has no session", async () => {
    const res = await new HttpAgent(stack.issuer).get(authorizePath({ prompt: "none" }));
    expect(res.status).toBe(303);
    const to = new URL(res.headers.get("location")!);
    expect(`${to.origin}${to.pathname}`).toBe(REDIRECT);
    expect(to.searchParams.get("error")).toBe("login_required");
    expect(to.searchParams.get("iss")).toBe(stack.issuer);
  });

  it("returns a code at once for a signed-in user whose approval is remembered", async () => {
    const agent = new HttpAgent(stack.issuer);
    const { fields } = await openConsent(agent);
    await agent.post("/oauth/consent", { ...fields, decision: "approve" });
    const res = await agent.get(authorizePath({ prompt: "none" }));
    expect(res.status).toBe(303);
    const to = new URL(res.headers.get("location")!);
    expect(to.searchParams.get("code")).toBeTruthy();
    expect(to.searchParams.get("iss")).toBe(stack.issuer);
  });
});

describe("client-supplied text is escaped on the pages (stored XSS)", () => {
  it("shows a hostile client_name as text on the login and consent pages", async () => {
    const hostile = `<img src=x onerror="alert(1)">'"&`;
    const evil = await registerClient({ client_name: hostile, redirect_uris: [REDIRECT], token_endpoint_auth_method: "none" });
    const agent = new HttpAgent(stack.issuer);
    const { html } = await openLogin(agent, { client_id: evil.client_id });
    expect(html).not.toContain("<img");
    expect(html).toContain("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&#39;&quot;&amp;");
    const res = await agent.post("/oauth/login", { ...hiddenFields(html), email: ADMIN.email, password: ADMIN.password });
    const consent = await (await agent.get(res.headers.get("location")!)).text();
    expect(consent).not.toContain("<img");
    expect(consent).toContain("&lt;img src=x");
  });
});

describe("session and CSRF cookies are HttpOnly and SameSite", () => {
  it("sets meshai_csrf HttpOnly on /oauth and meshai_session HttpOnly, SameSite=Lax, with an expiry", async () => {
    const agent = new HttpAgent(stack.issuer);
    const start = await agent.get(authorizePath());
    const csrf = start.headers.getSetCookie().find((c) => c.startsWith("meshai_csrf="))!;
    expect(csrf).toMatch(/; Path=\/oauth; HttpOnly; SameSite=Lax/);
    const form = hiddenFields(await (await agent.get(start.headers.get("location")!)).text());
    const res = await agent.post("/oauth/login", { ...form, email: ADMIN.email, password: ADMIN.password });
    const session = res.headers.getSetCookie().find((c) => c.startsWith("meshai_session="))!;
    expect(session).toMatch(/; Path=\/; HttpOnly; SameSite=Lax; Expires=/);
    expect(session).not.toMatch(/Secure/); // the issuer is http here; Secure comes with an https issuer
  });
});

describe("brute force on the login form is throttled", () => {
  const victim = { email: "victim@example.com", password: "victim-password-1" };
  beforeAll(() => stack.addUser(victim.email, victim.password));

  it("answers wrong passwords and unknown users with the same message", async () => {
    const agent = new HttpAgent(stack.issuer);
    const { fields } = await openLogin(agent);
    const wrong = await agent.post("/oauth/login", { ...fields, email: "nobody@example.com", password: "whatever-1" });
    const unknown = await agent.post("/oauth/login", { ...fields, email: ADMIN.email, password: "wrong-password" });
    expect(wrong.status).toBe(400);
    expect(unknown.status).toBe(400);
    const text = async (r: Response) => /<p class="alert" role="alert">([^<]*)<\/p>/.exec(await r.text())?.[1];
    expect(await text(wrong)).toBe("Invalid email or password.");
    expect(await text(unknown)).toBe("Invalid email or password.");
  });

  it("after repeated failures answers 429 with Retry-After, even for the right password", async () => {
    const agent = new HttpAgent(stack.issuer);
    const { fields } = await openLogin(agent);
    let res: Response | undefined;
    for (let i = 0; i < 6; i++) {
      res = await agent.post("/oauth/login", { ...fields, email: victim.email, password: `guess-${i}` });
      await res.text();
      if (res.status === 429) break;
    }
    expect(res!.status).toBe(429);
    expect(Number(res!.headers.get("retry-after"))).toBeGreaterThan(0);
    const right = await agent.post("/oauth/login", { ...fields, email: victim.email, password: victim.password });
    expect(right.status).toBe(429);
    expect(right.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(agent.cookies.has("meshai_session")).toBe(false);
  });
});

describe("dynamic client registration refuses dangerous redirect URIs", () => {
  const register = (redirect_uris: string[]) =>
    fetch(`${stack.issuer}/oauth/register`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ client_name: "x", redirect_uris }) });

  for (const [name, uri] of [
    ["a javascript: URI", "javascript:alert(1)//"],
    ["a data: URI", "data:text/html,<script>alert(1)</script>"],
    ["a non-loopback http URI", "http://attacker.example/callback"],
    ["a URI with a fragment", "https://app.example/callback#frag"],
  ] as const) {
    it(`refuses ${name} with invalid_redirect_uri JSON`, async () => {
      const res = await register([uri]);
      expect(res.status).toBe(400);
      expect(res.headers.get("content-type")).toMatch(/^application\/json/);
      expect(res.headers.get("cache-control")).toBe("no-store");
      expect(((await res.json()) as { error: string }).error).toBe("invalid_redirect_uri");
    });
  }

  it("refuses a body that is not JSON client metadata with invalid_client_metadata", async () => {
    const res = await fetch(`${stack.issuer}/oauth/register`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "redirect_uris=https://a.example/cb" });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe("invalid_client_metadata");
  });
});

describe("token endpoint errors are JSON and never cached", () => {
  const token = (body: string, headers: Record<string, string> = {}) =>
    fetch(`${stack.issuer}/oauth/token`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", ...headers }, body });

  async function expectOAuthError(res: Response, status: number, error: string) {
    expect(res.status).toBe(status);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("pragma")).toBe("no-cache");
    const body = (await res.json()) as { error: string; error_description: string };
    expect(body.error).toBe(error);
    expect(body.error_description).toBeTruthy();
  }

  it("unsupported_grant_type for the password grant", async () => {
    await expectOAuthError(await token(`grant_type=password&username=a&password=b&client_id=${client.client_id}`), 400, "unsupported_grant_type");
  });

  it("invalid_grant for a code that was never issued", async () => {
    await expectOAuthError(await token(`grant_type=authorization_code&code=forged&code_verifier=${verifier}&redirect_uri=${encodeURIComponent(REDIRECT)}&client_id=${client.client_id}`), 400, "invalid_grant");
  });

  it("401 invalid_client with a Basic challenge for a wrong secret sent by Basic", async () => {
    const confidential = await registerClient({ client_name: "c", redirect_uris: [REDIRECT], token_endpoint_auth_method: "client_secret_basic" });
    const basic = Buffer.from(`${encodeURIComponent(confidential.client_id)}:wrong-secret`).toString("base64");
    const res = await token("grant_type=refresh_token&refresh_token=x", { authorization: `Basic ${basic}` });
    expect(res.headers.get("www-authenticate")).toMatch(/^Basic realm="meshai"/);
    await expectOAuthError(res, 401, "invalid_client");
  });

  it("invalid_request for a JSON body, a repeated parameter, or two client authentication methods", async () => {
    await expectOAuthError(await fetch(`${stack.issuer}/oauth/token`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" }), 400, "invalid_request");
    await expectOAuthError(await token(`grant_type=authorization_code&grant_type=refresh_token&client_id=${client.client_id}`), 400, "invalid_request");
    const basic = Buffer.from("a:b").toString("base64");
    await expectOAuthError(await token("grant_type=refresh_token&refresh_token=x&client_id=a&client_secret=b", { authorization: `Basic ${basic}` }), 400, "invalid_request");
  });

  it("a replayed code is refused and the tokens it issued stop working", async () => {
    const code = await approvedCode();
    const first = await token(codeExchange(code));
    expect(first.status).toBe(200);
    expect(first.headers.get("cache-control")).toBe("no-store");
    const { access_token } = (await first.json()) as { access_token: string };
    await expectOAuthError(await token(codeExchange(code)), 400, "invalid_grant");
    const info = await fetch(`${stack.issuer}/oauth/userinfo`, { headers: { authorization: `Bearer ${access_token}` } });
    expect(info.status).toBe(401);
  });
});

describe("CORS is open on the machine endpoints and absent on the browser pages", () => {
  it("answers the token endpoint's preflight for any origin, without credentials", async () => {
    const res = await fetch(`${stack.issuer}/oauth/token`, {
      method: "OPTIONS",
      headers: { origin: "https://app.example", "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type" },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    expect(res.headers.get("access-control-allow-methods")).toMatch(/POST/);
    expect(res.headers.get("access-control-allow-headers")).toMatch(/Authorization/i);
    expect(res.headers.get("access-control-allow-credentials")).toBeNull();
  });

  it("answers the discovery preflight including the MCP-Protocol-Version header", async () => {
    const res = await fetch(`${stack.issuer}/.well-known/oauth-protected-resource/v1/mcp`, {
      method: "OPTIONS",
      headers: { origin: "https://app.example", "access-control-request-method": "GET", "access-control-request-headers": "mcp-protocol-version" },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-headers")).toMatch(/MCP-Protocol-Version/i);
  });

  it("gives the authorization endpoint no CORS headers", async () => {
    const res = await fetch(`${stack.issuer}${authorizePath()}`, { redirect: "manual", headers: { origin: "https://app.example" } });
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("the login and consent pages cannot be framed (clickjacking)", () => {
  function expectHardened(res: Response) {
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(res.headers.get("content-security-policy")).toMatch(/frame-ancestors 'none'/);
    expect(res.headers.get("content-security-policy")).toMatch(/default-src 'self'/);
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    expect(res.headers.get("cache-control")).toBe("no-store");
  }

  it("sends frame-ancestors 'none', X-Frame-Options DENY and no-referrer on the login page", async () => {
    expectHardened((await openLogin(new HttpAgent(stack.issuer))).page);
  });

  it("sends them on the consent page too", async () => {
    expectHardened((await openConsent(new HttpAgent(stack.issuer))).page);
  });

  it("pages load nothing from third parties and run no inline script", async () => {
    const { html } = await openLogin(new HttpAgent(stack.issuer));
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/(src|href)="https?:/i);
    expect(html).toMatch(/<label for="email">/);
    expect(html).toMatch(/<label for="password">/);
  });
});

describe("userinfo refuses access tokens that are forged or no longer usable", () => {
  let user: { id: string };
  let jwks: { keys: Array<Record<string, string>> };
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const now = () => Math.floor(Date.now() / 1000);

  beforeAll(async () => {
    user = (await stack.t.core.platform.users.byEmail(ADMIN.email))!;
    jwks = (await (await fetch(`${stack.issuer}/oauth/jwks`)).json()) as typeof jwks;
  });

  const claims = () => ({ iss: stack.issuer, sub: user.id, aud: stack.mcpResource, iat: now(), exp: now() + 600, jti: randomBytes(8).toString("hex"), client_id: "x", scope: "openid email" });

  async function expectRefused(token: string) {
    const res = await fetch(`${stack.issuer}/oauth/userinfo`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer .*error="invalid_token"/);
    expect(res.headers.get("cache-control")).toBe("no-store");
  }

  it("accepts a genuine token (the control case)", async () => {
    const token = await stack.t.token("openid email", ADMIN.email);
    const res = await fetch(`${stack.issuer}/oauth/userinfo`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ sub: user.id, email: ADMIN.email });
  });

  it("asks for a token, without an error code, when none is sent", async () => {
    const res = await fetch(`${stack.issuer}/oauth/userinfo`);
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe('Bearer realm="meshai"');
  });

  it("refuses alg: none", async () => {
    await expectRefused(`${b64({ alg: "none", typ: "at+jwt", kid: jwks.keys[0]!.kid })}.${b64(claims())}.`);
  });

  it("refuses HS256 signed with the server's public key as the HMAC secret", async () => {
    const jwk = jwks.keys[0]!;
    const pem = await exportSPKI((await importJWK(jwk, "ES256")) as Parameters<typeof exportSPKI>[0]);
    for (const secret of [pem, JSON.stringify(jwk)]) {
      const forged = await new SignJWT(claims()).setProtectedHeader({ alg: "HS256", typ: "at+jwt", kid: jwk.kid }).sign(new TextEncoder().encode(secret));
      await expectRefused(forged);
    }
  });

  it("refuses an expired token signed by the real key", async () => {
    const { token } = await stack.t.core.platform.accessTokens.issue({ subject: user.id, userId: user.id, clientId: "x", scope: "openid email", audience: stack.mcpResource, ttlSeconds: -120 });
    await expectRefused(token);
  });

  it("refuses a token for another audience signed by the real key", async () => {
    const { token } = await stack.t.core.platform.accessTokens.issue({ subject: user.id, userId: user.id, clientId: "x", scope: "openid email", audience: "https://other-api.example", ttlSeconds: 600 });
    await expectRefused(token);
  });

  it("refuses a token revoked at /oauth/revoke, at once", async () => {
    const exchanged = await fetch(`${stack.issuer}/oauth/token`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: codeExchange(await approvedCode()) });
    const { access_token: token } = (await exchanged.json()) as { access_token: string };
    const before = await fetch(`${stack.issuer}/oauth/userinfo`, { headers: { authorization: `Bearer ${token}` } });
    expect(before.status).toBe(200);
    const res = await fetch(`${stack.issuer}/oauth/revoke`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: `token=${token}&token_type_hint=access_token&client_id=${client.client_id}` });
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    await expectRefused(token);
  });
});

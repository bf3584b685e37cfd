// The whole OAuth 2.1 authorization code flow over plain HTTP (no browser):
// dynamic registration, /oauth/authorize with PKCE, the login form, the
// consent form, and the code exchange. Each step returns what it saw, so a
// test can also collect every secret the flow handled.
import { createHash, randomBytes } from "node:crypto";
import { HttpAgent, hiddenFields } from "./http-agent.js";

export interface RegisteredClient {
  client_id: string;
  client_secret?: string;
}

/** POST /oauth/register (RFC 7591); throws unless 201. */
export async function registerClient(base: string, metadata: Record<string, unknown>): Promise<RegisteredClient> {
  const res = await fetch(`${base}/oauth/register`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(metadata) });
  if (res.status !== 201) throw new Error(`registration answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as RegisteredClient;
}

export interface Pkce {
  verifier: string;
  challenge: string;
}

export function newPkce(): Pkce {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
}

export interface AuthorizeOptions {
  clientId: string;
  redirectUri: string;
  scope: string;
  email: string;
  password: string;
  resource?: string;
  pkce?: Pkce;
  state?: string;
}

export interface AuthorizeResult {
  code: string;
  state: string;
  pkce: Pkce;
  /** The browser: its cookie jar holds the session cookie after sign-in. */
  agent: HttpAgent;
  /** Every csrf_token the forms carried. */
  csrfTokens: string[];
}

async function expectStatus(res: Response, status: number, what: string): Promise<void> {
  if (res.status !== status) throw new Error(`${what} answered ${res.status} (expected ${status}): ${await res.text()}`);
}

/** The person's part: authorize, sign in (form POST), approve (form POST); returns the code sent back. */
export async function authorizeOverHttp(base: string, o: AuthorizeOptions): Promise<AuthorizeResult> {
  const pkce = o.pkce ?? newPkce();
  const state = o.state ?? randomBytes(16).toString("base64url");
  const agent = new HttpAgent(base);
  const csrfTokens: string[] = [];
  const q = new URLSearchParams({
    response_type: "code",
    client_id: o.clientId,
    redirect_uri: o.redirectUri,
    scope: o.scope,
    state,
    code_challenge: pkce.challenge,
    code_challenge_method: "S256",
    prompt: "consent",
    ...(o.resource ? { resource: o.resource } : {}),
  });
  let res = await agent.get(`/oauth/authorize?${q}`);
  await expectStatus(res, 303, "authorize");
  const login = await agent.get(res.headers.get("location")!);
  await expectStatus(login, 200, "login page");
  const loginFields = hiddenFields(await login.text());
  if (loginFields.csrf_token) csrfTokens.push(loginFields.csrf_token);
  res = await agent.post("/oauth/login", { ...loginFields, email: o.email, password: o.password });
  await expectStatus(res, 303, "login");
  const consent = await agent.get(res.headers.get("location")!);
  await expectStatus(consent, 200, "consent page");
  const consentFields = hiddenFields(await consent.text());
  if (consentFields.csrf_token) csrfTokens.push(consentFields.csrf_token);
  res = await agent.post("/oauth/consent", { ...consentFields, decision: "approve" });
  await expectStatus(res, 303, "consent");
  const back = new URL(res.headers.get("location")!);
  const code = back.searchParams.get("code");
  if (!code) throw new Error(`consent redirected without a code: ${back.toString()}`);
  return { code, state, pkce, agent, csrfTokens };
}

/** A failed sign-in: opens an interaction and posts the login form with `password`; returns the response. */
export async function failedLoginOverHttp(base: string, o: Omit<AuthorizeOptions, "scope"> & { scope?: string }): Promise<Response> {
  const pkce = o.pkce ?? newPkce();
  const agent = new HttpAgent(base);
  const q = new URLSearchParams({
    response_type: "code",
    client_id: o.clientId,
    redirect_uri: o.redirectUri,
    scope: o.scope ?? "mcp:read",
    state: o.state ?? "s",
    code_challenge: pkce.challenge,
    code_challenge_method: "S256",
  });
  const res = await agent.get(`/oauth/authorize?${q}`);
  await expectStatus(res, 303, "authorize");
  const login = await agent.get(res.headers.get("location")!);
  const fields = hiddenFields(await login.text());
  return agent.post("/oauth/login", { ...fields, email: o.email, password: o.password });
}

export interface TokenResponse {
  access_token: string;
  refresh_token?: string;
  token_type: string;
  expires_in: number;
  scope: string;
}

/** POST /oauth/token with a form body; throws unless 200. */
export async function tokenRequest(base: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<TokenResponse> {
  const res = await fetch(`${base}/oauth/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(form).toString(),
  });
  if (res.status !== 200) throw new Error(`token endpoint answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as TokenResponse;
}

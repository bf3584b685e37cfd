import fs from "node:fs";
import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authorizeOverHttp, failedLoginOverHttp, newPkce, registerClient, tokenRequest } from "../support/oauth-http.js";
import { freshEnv, killAll, removeDir, runCli, type Served, startServe } from "../support/process.js";

// The acceptance point of the logs: the real `meshai serve` at debug level, a full OAuth + MCP run against it,
// and not one secret the run handled appears anywhere in what the process wrote.

const ADMIN = { email: "ops@example.com", password: "known-Admin-pass-4417" };
const WRONG_PASSWORD = "wrong-Admin-pass-9902";
const REDIRECT = "http://127.0.0.1:9/callback";
const OUTPUT_DIR = path.resolve("test-output", "log-secrets");

/** `serve`'s human banner (stdout, before the log): the only lines that are not JSON. */
const BANNER = [
  /^MeshAI core \(gRPC, gRPC-Web, Connect\) on \S+ {2}\[\w+\]$/,
  /^Created administrator \S+ \(password from MESHAI_ADMIN_PASSWORD\)$/,
  /^MeshAI HTTP facade on \S+$/,
  /^ {2}(issuer|MCP endpoint|health) {2,}\S.*$/,
];

let served: Served;
let dataDir: string;
let output = "";
const secrets = new Map<string, string>();
const keep = (what: string, value: string | undefined) => {
  if (!value) throw new Error(`the run produced no ${what}`);
  secrets.set(what, value);
};

async function mcpRun(url: string, token: string, calls: Array<{ name: string; arguments: Record<string, unknown> }>): Promise<string> {
  const client = new Client({ name: "log-secrets", version: "1.0.0" });
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${token}` } } });
  await client.connect(transport);
  try {
    for (const call of calls) {
      const result = await client.callTool(call);
      if (result.isError) throw new Error(`${call.name} failed: ${JSON.stringify(result.content)}`);
    }
    return transport.sessionId ?? "";
  } finally {
    await client.close();
  }
}

beforeAll(async () => {
  const fresh = await freshEnv({ MESHAI_LOG_LEVEL: "debug", MESHAI_ADMIN_EMAIL: ADMIN.email, MESHAI_ADMIN_PASSWORD: ADMIN.password });
  dataDir = fresh.dataDir;
  const issuer = `http://127.0.0.1:${fresh.httpPort}`;
  const env = { ...fresh.env, MESHAI_ISSUER: issuer };
  served = await startServe([], { env, timeoutMs: 60_000 });
  const mcpUrl = `${issuer}/v1/mcp`;
  keep("admin password", ADMIN.password);

  // Dynamic registration of a confidential client.
  const client = await registerClient(issuer, {
    client_name: "Secrets Test",
    redirect_uris: [REDIRECT],
    token_endpoint_auth_method: "client_secret_basic",
    grant_types: ["authorization_code", "refresh_token"],
  });
  keep("client secret", client.client_secret);
  const basic = `Basic ${Buffer.from(`${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret!)}`).toString("base64")}`;
  keep("client authorization header", basic.slice("Basic ".length));

  // Authorization code with PKCE, through the login and consent forms.
  const pkce = newPkce();
  const flow = await authorizeOverHttp(issuer, {
    clientId: client.client_id,
    redirectUri: REDIRECT,
    scope: "openid email mcp:read mcp:execute",
    email: ADMIN.email,
    password: ADMIN.password,
    resource: mcpUrl,
    pkce,
  });
  keep("authorization code", flow.code);
  keep("code verifier", pkce.verifier);
  keep("state", flow.state);
  flow.csrfTokens.forEach((t, i) => keep(`csrf token ${i}`, t));
  for (const [name, value] of flow.agent.cookies) keep(`cookie ${name}`, value);

  const tokens = await tokenRequest(issuer, { grant_type: "authorization_code", code: flow.code, code_verifier: pkce.verifier, redirect_uri: REDIRECT }, { authorization: basic });
  keep("access token", tokens.access_token);
  keep("refresh token", tokens.refresh_token);
  const refreshed = await tokenRequest(issuer, { grant_type: "refresh_token", refresh_token: tokens.refresh_token! }, { authorization: basic });
  keep("refreshed access token", refreshed.access_token);
  keep("rotated refresh token", refreshed.refresh_token);

  // MCP: initialize, list_agents, and a task on a built-in agent.
  const sessionId = await mcpRun(mcpUrl, refreshed.access_token, [
    { name: "list_agents", arguments: {} },
    { name: "mesh_execute", arguments: { task: "Check this code for security vulnerabilities:\n```js\neval(userInput)\n```" } },
  ]);
  keep("MCP session id", sessionId);

  // Revocation (RFC 7009) of the refresh token, which ends its grant.
  const revoke = await fetch(`${issuer}/oauth/revoke`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", authorization: basic },
    body: new URLSearchParams({ token: refreshed.refresh_token!, token_type_hint: "refresh_token" }).toString(),
  });
  expect(revoke.status).toBe(200);
  const afterRevoke = await fetch(mcpUrl, {
    method: "POST",
    headers: { authorization: `Bearer ${tokens.access_token}`, "content-type": "application/json", accept: "application/json, text/event-stream" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "x", version: "1" } } }),
  });
  expect(afterRevoke.status).toBe(401);

  // A failed sign-in with a wrong password.
  keep("wrong password", WRONG_PASSWORD);
  const failed = await failedLoginOverHttp(issuer, { clientId: client.client_id, redirectUri: REDIRECT, email: ADMIN.email, password: WRONG_PASSWORD });
  expect(failed.status).toBe(400);

  // An admin service token from the CLI, used against the MCP endpoint.
  const cli = await runCli(["token", "create", "--user", ADMIN.email, "--scope", "mcp:read"], { env });
  expect(cli.code).toBe(0);
  const serviceToken = cli.stdout.trim();
  keep("CLI service token", serviceToken);
  await mcpRun(mcpUrl, serviceToken, [{ name: "list_agents", arguments: {} }]);

  await served.stop();
  output = `${served.stdout()}\n${served.stderr()}`;
  // Kept for people to read (test-output/ is not committed).
  fs.mkdirSync(OUTPUT_DIR, { recursive: true });
  fs.writeFileSync(path.join(OUTPUT_DIR, "serve.log"), output);
}, 120_000);

afterAll(async () => {
  await killAll();
  removeDir(dataDir);
});

describe("no secret of a full OAuth + MCP run appears in the platform's output (debug level)", () => {
  it("collected every kind of secret the run handled", () => {
    expect([...secrets.keys()]).toEqual(
      expect.arrayContaining(["admin password", "wrong password", "client secret", "authorization code", "code verifier", "state", "access token", "refresh token", "CLI service token", "csrf token 0"]),
    );
    expect([...secrets.keys()].some((k) => k.startsWith("cookie "))).toBe(true);
  });

  it("finds none of them, raw or URL-encoded, in stdout or stderr", () => {
    const leaks: string[] = [];
    for (const [what, value] of secrets) {
      for (const form of new Set([value, encodeURIComponent(value)])) if (output.includes(form)) leaks.push(what);
      // Tokens are JWTs: their signature alone is a secret's tail too.
      const sig = value.split(".")[2];
      if (sig && sig.length >= 20 && output.includes(sig)) leaks.push(`${what} (signature)`);
    }
    expect(leaks).toEqual([]);
  });
});

describe("the platform's log is JSON lines", () => {
  it("is non-empty, one JSON object per line, every line not of the start banner", () => {
    const lines = output.split("\n").filter((l) => l.trim() !== "");
    const json = lines.filter((l) => !BANNER.some((re) => re.test(l)));
    expect(json.length).toBeGreaterThan(20);
    for (const line of json) {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      expect(typeof parsed.level).toBe("string");
      expect(typeof parsed.time).toBe("string");
      expect(typeof parsed.msg).toBe("string");
    }
  });

  it("has access lines and RPC lines sharing request ids, and the failed sign-in", () => {
    const parsed = output
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const access = parsed.filter((l) => l.component === "facade" && l.msg === "request");
    const rpcIds = new Set(parsed.filter((l) => l.component === "core" && l.msg === "rpc").map((l) => l.request_id));
    expect(access.length).toBeGreaterThan(10);
    expect(access.filter((l) => rpcIds.has(l.request_id)).length).toBeGreaterThan(5);
    expect(parsed.some((l) => l.event === "login_failed" && l.reason === "bad_credentials")).toBe(true);
    expect(parsed.some((l) => l.msg === "shutting down")).toBe(true);
  });
});

/**
 * OAuth hot paths on this machine: the token endpoint's refresh grant (HTTP
 * -> facade -> core -> database, rotation included) and access-token
 * verification (the core's VerifyAccessToken RPC, and a Bearer request
 * through the facade at /oauth/userinfo). A real core and facade on loopback
 * over a temp SQLite file; bounded counts.
 */
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { loadConfig } from "../src/config.js";
import { startCore } from "../src/core/server.js";
import { createCoreClients } from "../src/facade/core-client.js";
import { startFacade } from "../src/facade/server.js";
import { measure, report } from "./stats.js";

const ADMIN = { email: "admin@example.com", password: "admin-password-1" };
const REDIRECT = "http://127.0.0.1:9/callback";
const CHAINS = 4;

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Just enough of a browser to walk the login and consent forms once per grant. */
function cookieJar() {
  const jar = new Map<string, string>();
  return {
    header: () => [...jar].map(([k, v]) => `${k}=${v}`).join("; "),
    take(res: Response) {
      for (const line of res.headers.getSetCookie()) {
        const [pair] = line.split(";");
        const [k, v] = [pair!.slice(0, pair!.indexOf("=")), pair!.slice(pair!.indexOf("=") + 1)];
        if (v) jar.set(k, v);
        else jar.delete(k);
      }
    },
  };
}

async function getRefreshToken(issuer: string, clientId: string, jar: ReturnType<typeof cookieJar>): Promise<string> {
  const verifier = randomBytes(32).toString("base64url");
  const q = new URLSearchParams({
    response_type: "code",
    client_id: clientId,
    redirect_uri: REDIRECT,
    scope: "openid mcp:read",
    state: "s",
    code_challenge: createHash("sha256").update(verifier).digest("base64url"),
    code_challenge_method: "S256",
  });
  const go = async (url: string, form?: Record<string, string>) => {
    const res = await fetch(new URL(url, issuer), {
      method: form ? "POST" : "GET",
      headers: { cookie: jar.header(), ...(form ? { "content-type": "application/x-www-form-urlencoded" } : {}) },
      body: form ? new URLSearchParams(form) : undefined,
      redirect: "manual",
    });
    jar.take(res);
    return res;
  };
  const hidden = (html: string) => Object.fromEntries([...html.matchAll(/name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
  let res = await go(`/oauth/authorize?${q}`);
  let location = res.headers.get("location")!;
  if (location.startsWith("/oauth/login")) {
    res = await go("/oauth/login", { ...hidden(await (await go(location)).text()), ...ADMIN });
    location = res.headers.get("location")!;
  }
  if (location.startsWith("/oauth/consent")) {
    res = await go("/oauth/consent", { ...hidden(await (await go(location)).text()), decision: "approve" });
    location = res.headers.get("location")!;
  }
  const code = new URL(location).searchParams.get("code")!;
  const token = await fetch(`${issuer}/oauth/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "authorization_code", code, code_verifier: verifier, redirect_uri: REDIRECT, client_id: clientId }),
  });
  return ((await token.json()) as { refresh_token: string }).refresh_token;
}

export async function run(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "meshai-bench-oauth-"));
  const port = await freePort();
  const env = {
    MESHAI_DATA_DIR: dataDir,
    MESHAI_HOST: "127.0.0.1",
    MESHAI_HTTP_PORT: String(port),
    MESHAI_GRPC_PORT: "0",
    MESHAI_ISSUER: `http://127.0.0.1:${port}`,
    MESHAI_ADMIN_EMAIL: ADMIN.email,
    MESHAI_ADMIN_PASSWORD: ADMIN.password,
    MESHAI_LOG_LEVEL: "silent",
    MESHAI_HEALTH_CHECK_INTERVAL: "0",
  };
  const core = await startCore(loadConfig(env));
  const config = loadConfig({ ...env, MESHAI_CORE_URL: core.url });
  const facade = await startFacade(config);
  const clients = createCoreClients(config);
  try {
    const issuer = config.issuer;
    const reg = await fetch(`${issuer}/oauth/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ client_name: "bench", redirect_uris: [REDIRECT], token_endpoint_auth_method: "none" }),
    });
    const { client_id: clientId } = (await reg.json()) as { client_id: string };

    // One refresh-token chain per concurrent worker: a chain must never be refreshed twice at once.
    const jar = cookieJar();
    const chains: string[] = [];
    for (let i = 0; i < CHAINS; i++) chains.push(await getRefreshToken(issuer, clientId, jar));
    let accessToken = "";
    const refresh = async () => {
      const current = chains.pop()!;
      const res = await fetch(`${issuer}/oauth/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: current, client_id: clientId }),
      });
      const body = (await res.json()) as { refresh_token: string; access_token: string; error?: string };
      if (res.status !== 200) throw new Error(`refresh failed: ${res.status} ${body.error}`);
      accessToken = body.access_token;
      chains.push(body.refresh_token);
    };
    await refresh(); // warm-up
    report("token endpoint, refresh_token grant (HTTP)", await measure(refresh, 400, CHAINS));

    const verify = () => clients.auth.verifyAccessToken({ token: accessToken });
    await verify();
    report("VerifyAccessToken RPC (core, gRPC)", await measure(verify, 3000, 8));

    const userinfo = async () => {
      const res = await fetch(`${issuer}/oauth/userinfo`, { headers: { authorization: `Bearer ${accessToken}` } });
      if (res.status !== 200) throw new Error(`userinfo answered ${res.status}`);
      await res.arrayBuffer();
    };
    await userinfo();
    report("Bearer request, GET /oauth/userinfo (HTTP)", await measure(userinfo, 1500, 8));
  } finally {
    clients.close();
    await facade.close();
    await core.close(500);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

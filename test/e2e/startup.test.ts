// `meshai serve` as `npm start` runs it: a real child process over a fresh
// data dir, on loopback ports, probed over HTTP and with `buf curl` (gRPC).
import { execFile } from "node:child_process";
import http from "node:http";
import { promisify } from "node:util";
import argon2 from "argon2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BUF,
  type Env,
  type Served,
  freshEnv,
  killAll,
  pollUntil,
  query,
  removeDir,
  runCli,
  sqliteFile,
  startServe,
} from "../support/process.js";

const execFileAsync = promisify(execFile);

/** Safety net for tests that start and stop several processes. */
const SLOW = 90_000;
/** How long a stopping `serve` may take before the test calls it stuck. */
const STOP_TIMEOUT_MS = 10_000;

const dirs: string[] = [];
afterAll(async () => {
  await killAll();
  dirs.forEach(removeDir);
});

async function setup(extra: Record<string, string | undefined> = {}) {
  const fresh = await freshEnv(extra);
  dirs.push(fresh.dataDir);
  return fresh;
}

/** `buf curl` with the gRPC protocol over h2c; never throws, returns the exit code and output. */
async function bufCurl(args: string[], env: Env, cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(BUF, ["curl", "--protocol", "grpc", "--http2-prior-knowledge", ...args], {
      env,
      cwd,
      timeout: 30_000,
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number | string; stdout?: string; stderr?: string };
    return { code: typeof err.code === "number" ? err.code : -1, stdout: err.stdout ?? "", stderr: err.stderr ?? String(e) };
  }
}

async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe("serve prints its URLs, the issuer, the MCP endpoint and a generated admin password on first start only", () => {
  let env: Env;
  let dataDir: string;
  let httpPort: number;
  let grpcPort: number;
  beforeAll(async () => {
    ({ env, dataDir, httpPort, grpcPort } = await setup({ MESHAI_ADMIN_EMAIL: undefined, MESHAI_ADMIN_PASSWORD: undefined }));
  });

  it(
    "first start prints everything and a password that is the admin's; the second start prints no password",
    async () => {
      const first = await startServe([], { env });
      const out = first.stdout();
      expect(await first.stop(STOP_TIMEOUT_MS)).toEqual({ code: 0, signal: null });
      expect(out).toMatch(new RegExp(`^MeshAI core \\(gRPC, gRPC-Web, Connect\\) on http://127\\.0\\.0\\.1:${grpcPort}\\b`, "m"));
      expect(first.coreUrl).toBe(`http://127.0.0.1:${grpcPort}`);
      expect(first.facadeUrl).toBe(`http://127.0.0.1:${httpPort}`);
      expect(out).toMatch(new RegExp(`^\\s+issuer\\s+http://localhost:${httpPort}$`, "m"));
      expect(out).toMatch(new RegExp(`^\\s+MCP endpoint\\s+http://localhost:${httpPort}/v1/mcp$`, "m"));

      const m = /^Created administrator (\S+) with password (\S+)$/m.exec(out);
      expect(m, out).not.toBeNull();
      const [, email, password] = m!;
      expect(password!.length).toBeGreaterThanOrEqual(16);
      expect(out.split(password!).length - 1).toBe(1); // printed exactly once
      expect(first.stderr()).not.toContain(password!);

      // The printed password is the one stored (as an argon2id hash) for that admin.
      const [row] = await query<{ password_hash: string; admin: number }>(
        sqliteFile(dataDir),
        "select password_hash, admin from users where email = ?",
        [email],
      );
      expect(row).toBeDefined();
      expect(row!.admin).toBeTruthy();
      expect(row!.password_hash.startsWith("$argon2id$")).toBe(true);
      expect(await argon2.verify(row!.password_hash, password!)).toBe(true);

      const second = await startServe([], { env });
      const again = second.stdout();
      expect(await second.stop(STOP_TIMEOUT_MS)).toEqual({ code: 0, signal: null });
      expect(again).toContain(`MeshAI HTTP facade on http://127.0.0.1:${httpPort}`);
      expect(again).not.toContain("Created administrator");
      expect(again).not.toMatch(/password/i);
      expect(again + second.stderr()).not.toContain(password!);
    },
    SLOW,
  );
});

describe("with MESHAI_ADMIN_EMAIL and MESHAI_ADMIN_PASSWORD set, the first admin gets that email and no password is printed", () => {
  it(
    "creates ops@example.com as an active admin",
    async () => {
      const password = "ops-admin-password-7";
      const { env } = await setup({ MESHAI_ADMIN_EMAIL: "Ops@Example.com", MESHAI_ADMIN_PASSWORD: password });
      const served = await startServe([], { env });
      expect(await served.stop(STOP_TIMEOUT_MS)).toEqual({ code: 0, signal: null });
      const out = served.stdout() + served.stderr();
      expect(out).toContain("Created administrator ops@example.com");
      expect(out).not.toContain(password);
      expect(out).not.toMatch(/with password/);

      const list = await runCli(["user", "list"], { env });
      expect(list.code, list.stderr).toBe(0);
      const rows = list.stdout.split("\n").filter(Boolean).map((l) => l.split("\t"));
      expect(rows).toHaveLength(1);
      expect(rows[0]!.slice(0, 4)).toEqual(["ops@example.com", expect.stringMatching(/^usr_/), "admin", "active"]);
      expect(list.stdout).not.toContain("admin@meshai.local");
    },
    SLOW,
  );
});

describe("a running serve answers health checks over HTTP and lists and serves its gRPC services by reflection", () => {
  let env: Env;
  let dataDir: string;
  let grpcPort: number;
  let served: Served;
  const adminEmail = "root@example.com";
  beforeAll(async () => {
    ({ env, dataDir, grpcPort } = await setup({ MESHAI_ADMIN_EMAIL: adminEmail, MESHAI_ADMIN_PASSWORD: "root-password-123" }));
    served = await startServe([], { env });
  }, SLOW);
  afterAll(async () => {
    if (served) expect(await served.stop(STOP_TIMEOUT_MS)).toEqual({ code: 0, signal: null });
  });

  it("GET /healthz is 200 and GET /readyz is 200 with the core SERVING", async () => {
    const [healthz, readyz] = await Promise.all([getJson(`${served.facadeUrl}/healthz`), getJson(`${served.facadeUrl}/readyz`)]);
    expect(healthz.status).toBe(200);
    expect(healthz.body).toEqual({ status: "ok" });
    expect(readyz.status).toBe(200);
    expect(readyz.body).toMatchObject({ core: "SERVING" });
  });

  it("buf curl --list-services lists both MeshAI services, health and reflection v1 and v1alpha", async () => {
    const res = await bufCurl(["--list-services", `http://127.0.0.1:${grpcPort}`], env, dataDir);
    expect(res.code, res.stderr).toBe(0);
    const services = res.stdout.split("\n").map((l) => l.trim()).filter(Boolean);
    expect(services).toEqual(
      expect.arrayContaining([
        "meshai.v1.AuthService",
        "meshai.v1.MeshService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
      ]),
    );
  });

  it(
    "ListAgents through reflection succeeds with a token from `token create` and is unauthenticated without one",
    async () => {
      const token = await runCli(["token", "create", "--user", adminEmail, "--scope", "mcp:read"], { env });
      expect(token.code, token.stderr).toBe(0);
      const bearer = token.stdout.trim();
      const url = `http://127.0.0.1:${grpcPort}/meshai.v1.MeshService/ListAgents`;

      const [withToken, without] = await Promise.all([
        bufCurl(["--reflect", "-H", `authorization: Bearer ${bearer}`, "-d", "{}", url], env, dataDir),
        bufCurl(["--reflect", "-d", "{}", url], env, dataDir),
      ]);
      expect(withToken.code, withToken.stderr).toBe(0);
      expect(() => JSON.parse(withToken.stdout)).not.toThrow();
      expect(without.code).not.toBe(0);
      expect(without.stdout + without.stderr).toContain("unauthenticated");
    },
    SLOW,
  );
});

describe("serve --role core and --role facade run the halves apart; the facade is ready only while the core is", () => {
  it(
    "readyz is 200 with both up and turns 503 once the core stops",
    async () => {
      const { env, grpcPort, httpPort } = await setup({ MESHAI_CORE_URL: undefined });
      const core = await startServe(["--role", "core"], { env });
      expect(core.coreUrl).toBe(`http://127.0.0.1:${grpcPort}`);
      expect(core.stdout()).not.toContain("HTTP facade");

      const facade = await startServe(["--role", "facade"], { env });
      try {
        expect(facade.facadeUrl).toBe(`http://127.0.0.1:${httpPort}`);
        expect(facade.stdout()).not.toContain("MeshAI core");
        expect(facade.stdout()).not.toContain("Created administrator");

        const ready = await getJson(`${facade.facadeUrl}/readyz`);
        expect(ready.status).toBe(200);
        expect(ready.body).toMatchObject({ core: "SERVING" });

        expect(await core.stop(STOP_TIMEOUT_MS)).toEqual({ code: 0, signal: null });

        let last: { status: number; body: Record<string, unknown> } | undefined;
        const changed = await pollUntil(async () => {
          last = await getJson(`${facade.facadeUrl}/readyz`);
          return last.status === 503;
        }, 30, 200);
        expect(changed, JSON.stringify(last)).toBe(true);
        expect(last!.body.core).not.toBe("SERVING");

        // Liveness does not depend on the core.
        expect((await getJson(`${facade.facadeUrl}/healthz`)).status).toBe(200);
      } finally {
        await core.stop(STOP_TIMEOUT_MS).catch(() => undefined);
        expect(await facade.stop(STOP_TIMEOUT_MS)).toEqual({ code: 0, signal: null });
      }
    },
    SLOW,
  );
});

describe("SIGTERM makes serve exit 0 promptly", () => {
  it(
    "exits 0 even with an idle keep-alive connection open",
    async () => {
      const { env } = await setup();
      const served = await startServe([], { env: { ...env, MESHAI_LOG_LEVEL: "info" } });
      const agent = new http.Agent({ keepAlive: true });
      try {
        const status = await new Promise<number>((resolve, reject) => {
          http
            .get(`${served.facadeUrl}/healthz`, { agent }, (res) => {
              res.resume();
              res.once("end", () => resolve(res.statusCode ?? 0));
            })
            .once("error", reject);
        });
        expect(status).toBe(200);
        // The socket now sits idle in the agent's pool.
        expect(await served.stop(STOP_TIMEOUT_MS)).toEqual({ code: 0, signal: null });
        // The log is JSON lines (docs/operations.md).
        expect(served.stdout()).toMatch(/^\{.*"signal":"SIGTERM".*"msg":"shutting down"\}$/m);
        expect(served.stderr()).toBe("");
      } finally {
        agent.destroy();
      }
    },
    SLOW,
  );
});

describe("serve fails whole: if one half cannot start, the other is stopped and the command exits non-zero", () => {
  it("exits 1 naming the problem when the HTTP port is taken", { timeout: SLOW }, async () => {
    const blocker = http.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const { env } = await setup({ MESHAI_HTTP_PORT: String(port) });
      const res = await runCli(["serve"], { env });
      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(/EADDRINUSE/);
    } finally {
      blocker.close();
    }
  });
});

describe("data dirs whose path has spaces or # work", () => {
  it("migrates into a data dir named 'my data #1'", { timeout: SLOW }, async () => {
    const { env, dataDir } = await setup();
    const odd = `${dataDir}/my data #1`;
    const res = await runCli(["migrate"], { env: { ...env, MESHAI_DATA_DIR: odd } });
    expect(res.code).toBe(0);
    expect(sqliteFile(odd)).toContain("my data #1");
    expect((await query<{ n: number }>(sqliteFile(odd), "select count(*) as n from users"))[0]?.n).toBe(0);
  });
});

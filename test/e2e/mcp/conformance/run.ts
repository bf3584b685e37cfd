/**
 * Runs the official MCP conformance runner (`@modelcontextprotocol/conformance`, Node 22) against a
 * real core + facade on loopback, with authentication ON. The runner sends no token, so a loopback
 * proxy in front adds `Authorization: Bearer <token>` to every request and passes everything else
 * through untouched (there is no switch that turns authentication off).
 *
 *   MESHAI_CONFORMANCE_DIR=/path/with/node_modules  node --import tsx test/e2e/mcp/conformance/run.ts [--scenario NAME]
 *
 * The directory must hold `@modelcontextprotocol/conformance` and `node@22`
 * (`npm i --prefix DIR @modelcontextprotocol/conformance node@22`). Exit code: the runner's.
 */
import { spawn } from "node:child_process";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../../../../src/config.js";
import { startFacade } from "../../../../src/facade/server.js";
import { startTestCore, testEnv } from "../../../support/core.js";

export interface ConformanceRun {
  code: number;
  output: string;
}

/** A loopback reverse proxy that adds the bearer token; streams both ways (SSE included). */
async function startTokenProxy(target: string, token: string): Promise<{ url: string; close(): Promise<void> }> {
  const upstream = new URL(target);
  const server = http.createServer((req, res) => {
    // Host and Origin pass through as the runner sent them: the DNS-rebinding scenario depends on them.
    const headers = { ...req.headers, authorization: `Bearer ${token}` };
    const out = http.request({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    out.on("error", () => res.destroy());
    res.on("close", () => out.destroy());
    req.pipe(out);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export async function runConformance(dir: string, args: string[] = []): Promise<ConformanceRun> {
  const t = await startTestCore();
  const facade = await startFacade(loadConfig(testEnv({ MESHAI_CORE_URL: t.core.url, MESHAI_ISSUER: t.config.issuer })), undefined, { graceMs: 200 });
  const token = await t.token("mcp:read mcp:execute mcp:manage", "admin@example.com");
  const proxy = await startTokenProxy(facade.url, token);
  const here = path.dirname(fileURLToPath(import.meta.url));
  try {
    const runner = path.join(dir, "node_modules", "@modelcontextprotocol", "conformance", "dist", "index.js");
    const node = path.join(dir, "node_modules", ".bin", "node");
    const child = spawn(
      node,
      [runner, "server", "--url", `${proxy.url}/v1/mcp`, "--expected-failures", path.join(here, "expected-failures.yaml"), ...args],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    child.stdout.on("data", (c) => (output += c));
    child.stderr.on("data", (c) => (output += c));
    const code = await new Promise<number>((r) => child.on("close", (c) => r(c ?? 1)));
    return { code, output };
  } finally {
    await proxy.close();
    await facade.close();
    await t.close();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const dir = process.env.MESHAI_CONFORMANCE_DIR;
  if (!dir) {
    console.error("set MESHAI_CONFORMANCE_DIR to a directory holding @modelcontextprotocol/conformance and node@22");
    process.exit(2);
  }
  const { code, output } = await runConformance(dir, process.argv.slice(2));
  process.stdout.write(output);
  process.exit(code);
}

// A real core and facade on loopback sharing one Observability whose log
// lines are captured in memory, as `meshai serve` shares one per process.
import fs from "node:fs";
import net from "node:net";
import { loadConfig } from "../../src/config.js";
import { type RunningCore, startCore } from "../../src/core/server.js";
import { type RunningFacade, startFacade } from "../../src/facade/server.js";
import { createObservability, type Observability } from "../../src/observability/observability.js";
import { testEnv } from "../support/core.js";

export interface LogLine {
  level: string;
  msg: string;
  component?: string;
  request_id?: string;
  [field: string]: unknown;
}

/** Every line written, parsed; `raw` keeps the text as it was written. */
export interface CapturedLog {
  raw: string[];
  lines(): LogLine[];
}

export function captureLog(): CapturedLog & { write(chunk: string): void } {
  const raw: string[] = [];
  return {
    raw,
    write(chunk: string) {
      for (const l of chunk.split("\n")) if (l.trim()) raw.push(l);
    },
    lines: () => raw.map((l) => JSON.parse(l) as LogLine),
  };
}

export interface ObservedStack {
  core: RunningCore;
  facade: RunningFacade;
  issuer: string;
  mcpUrl: string;
  log: CapturedLog;
  observability: Observability;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The admin is admin@example.com / admin-password-1 (test/support/core.ts). */
export async function startObservedStack(env: Record<string, string> = {}): Promise<ObservedStack> {
  const log = captureLog();
  const observability = createObservability({ logLevel: "debug" }, { destination: log, defaultMetrics: true });
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const coreEnv = testEnv({ MESHAI_ISSUER: issuer, MESHAI_HTTP_PORT: String(port), MESHAI_ALLOW_PRIVATE_NETWORK: "true", ...env });
  const core = await startCore(loadConfig(coreEnv), { observability });
  const facadeConfig = loadConfig({ ...coreEnv, MESHAI_CORE_URL: core.url });
  const facade = await startFacade(facadeConfig, undefined, { observability, graceMs: 200 });
  return {
    core,
    facade,
    issuer,
    mcpUrl: `${issuer}/v1/mcp`,
    log,
    observability,
    async close() {
      await facade.close();
      await core.close(500);
      fs.rmSync(coreEnv.MESHAI_DATA_DIR!, { recursive: true, force: true });
    },
  };
}

/**
 * What logs and metrics cost per request: the work the facade and the core
 * add to one request (an access line, an RPC line, two counters and two
 * histograms) measured in a loop into a discarding stream, the time of one
 * /metrics scrape, and GET /healthz through a real facade with its access
 * line written (debug) or not (silent).
 */
import http from "node:http";
import { Writable } from "node:stream";
import { loadConfig } from "../src/config.js";
import { createApp } from "../src/facade/app.js";
import { createCoreClients } from "../src/facade/core-client.js";
import { createLogger } from "../src/observability/logger.js";
import { createMetrics } from "../src/observability/metrics.js";
import { createObservability } from "../src/observability/observability.js";
import { measure, report } from "./stats.js";

const discard = () => new Writable({ write: (_c, _e, cb) => cb() });

function perRequestWork(iterations: number): number {
  const logger = createLogger({ level: "info", destination: discard() });
  const metrics = createMetrics({ defaultMetrics: false });
  const started = performance.now();
  for (let i = 0; i < iterations; i++) {
    const labels = { method: "POST", route: "/v1/mcp", status: "200" };
    metrics.httpRequests.inc(labels);
    metrics.httpDuration.observe(labels, 0.004);
    logger.info({ request_id: "0b7c1f9e-5a1d-4e57-9f6e-3f2b8c1d2e4f", method: "POST", path: "/v1/mcp", route: "/v1/mcp", status: 200, duration_ms: 4.2, remote_ip: "127.0.0.1", user_agent: "bench" }, "request");
    const rpc = { service: "meshai.v1.MeshService", method: "ListAgents", code: "OK" };
    metrics.rpcRequests.inc(rpc);
    metrics.rpcDuration.observe(rpc, 0.002);
    logger.info({ request_id: "0b7c1f9e-5a1d-4e57-9f6e-3f2b8c1d2e4f", service: rpc.service, method: rpc.method, grpc_code: "OK", duration_ms: 2.1, subject: "usr_x", client_id: "dcr_y" }, "rpc");
  }
  return ((performance.now() - started) * 1000) / iterations;
}

async function scrapeMs(): Promise<number> {
  const metrics = createMetrics();
  // A busy registry: 40 routes x 5 statuses, 60 RPC methods x 3 codes, 50 agents.
  for (let r = 0; r < 40; r++) for (const s of ["200", "201", "400", "401", "500"]) metrics.httpDuration.observe({ method: "GET", route: `/r${r}`, status: s }, 0.01);
  for (let m = 0; m < 60; m++) for (const c of ["OK", "NOT_FOUND", "INVALID_ARGUMENT"]) metrics.rpcDuration.observe({ service: "s", method: `M${m}`, code: c }, 0.01);
  for (let a = 0; a < 50; a++) metrics.agentCallDuration.observe({ agent_id: `agent-${a}`, protocol: "a2a", outcome: "ok" }, 1);
  await metrics.exposition();
  const started = performance.now();
  for (let i = 0; i < 20; i++) await metrics.exposition();
  return (performance.now() - started) / 20;
}

async function healthz(level: "silent" | "debug") {
  const config = loadConfig({ MESHAI_HOST: "127.0.0.1", MESHAI_HTTP_PORT: "0", MESHAI_LOG_LEVEL: level, MESHAI_DATA_DIR: "/tmp" });
  const core = createCoreClients(config);
  const observability = { ...createObservability(config, { defaultMetrics: false }), logger: createLogger({ level, destination: discard() }) };
  const server = http.createServer(createApp({ config, core, observability }).callback());
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const get = () =>
    new Promise<void>((resolve, reject) => {
      http.get({ host: "127.0.0.1", port, path: "/healthz", agent }, (res) => res.resume().once("end", resolve)).once("error", reject);
    });
  await measure(get, 300, 8); // warm-up
  const r = await measure(get, 3000, 8);
  agent.destroy();
  core.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return r;
}

export async function run(): Promise<void> {
  perRequestWork(2000);
  console.log(`per request: access line + RPC line + 2 counters + 2 histograms   ${perRequestWork(50_000).toFixed(1)} us`);
  console.log(`one /metrics scrape (1,000 histogram series + process metrics)    ${(await scrapeMs()).toFixed(1)} ms`);
  report("GET /healthz, access line not written (silent)", await healthz("silent"));
  report("GET /healthz, access line written (debug)", await healthz("debug"));
}

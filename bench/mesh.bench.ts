/**
 * The mesh's hot paths: task events per second through ExecuteTask with a
 * fast loopback agent, latency from the agent emitting an event to the gRPC
 * client receiving it, and one routing decision over 10,000 agents.
 */
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { AgentProtocol, MeshService, TaskEventType } from "../gen/meshai/v1/mesh_pb.js";
import { loadConfig } from "../src/config.js";
import { issueServiceToken } from "../src/core/auth/service.js";
import { createAgentSnapshot } from "../src/core/mesh/agent-snapshot.js";
import { startCore } from "../src/core/server.js";
import { createAgentRepository } from "../src/core/store/agents.js";
import { freshPostgresDatabase } from "../test/support/postgres.js";
import { measure, percentile } from "./stats.js";

/** An OpenAI-compatible server: `chunks` SSE deltas per request, each carrying the time it was written. */
function fastAgent(chunks: number, gapMs: number) {
  return http.createServer((req, res) => {
    req.resume();
    req.on("end", async () => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      for (let i = 0; i < chunks; i++) {
        const content = `${performance.now().toFixed(3)};`;
        res.write(`data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"${content}"},"finish_reason":null}]}\n\n`);
        if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
      }
      res.write(`data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n`);
      res.end();
    });
  });
}

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
}

export async function run(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "meshai-bench-"));
  // MESHAI_BENCH_DATABASE_URL=postgres://... runs it on a fresh database on that server (dropped after).
  const pgServer = process.env.MESHAI_BENCH_DATABASE_URL;
  const pg = pgServer ? await freshPostgresDatabase(pgServer) : undefined;
  const config = loadConfig({
    MESHAI_DATA_DIR: dataDir,
    MESHAI_HOST: "127.0.0.1",
    MESHAI_GRPC_PORT: "0",
    MESHAI_HTTP_PORT: "0",
    MESHAI_ADMIN_EMAIL: "bench@example.com",
    MESHAI_ADMIN_PASSWORD: "bench-password-1",
    MESHAI_ALLOW_PRIVATE_NETWORK: "true",
    MESHAI_HEALTH_CHECK_INTERVAL: "0",
    MESHAI_DATABASE_URL: pg?.url ?? "",
  });
  const core = await startCore(config);
  const bulk = fastAgent(500, 0);
  const single = fastAgent(1, 0);
  const paced = fastAgent(300, 2);
  try {
    const { accessToken } = await issueServiceToken(
      { accounts: core.platform.accounts, accessTokens: core.platform.accessTokens, mcpResource: config.mcpResource, resources: config.resources, accessTokenTtl: 3600 },
      { email: "bench@example.com", scope: "mcp:read mcp:execute mcp:manage", resource: "", ttlSeconds: 0 },
    );
    const headers = { authorization: `Bearer ${accessToken}` };
    const mesh = createClient(MeshService, createGrpcTransport({ baseUrl: core.url }));
    await mesh.registerAgent({ agent: { id: "fast", name: "fast", protocol: AgentProtocol.OPENAI, endpoint: await listen(bulk), capabilities: ["bench_fast"], maxConcurrentTasks: 64 } }, { headers });
    await mesh.registerAgent({ agent: { id: "single", name: "single", protocol: AgentProtocol.OPENAI, endpoint: await listen(single), capabilities: ["bench_single"], maxConcurrentTasks: 64 } }, { headers });
    await mesh.registerAgent({ agent: { id: "paced", name: "paced", protocol: AgentProtocol.OPENAI, endpoint: await listen(paced), capabilities: ["bench_paced"], maxConcurrentTasks: 64 } }, { headers });

    // 1. Events per second: 4 concurrent tasks of 500 output events each, every one stored before it is sent.
    // Deltas that arrive while the previous event is being stored are merged into one output event,
    // so both figures are printed: stored+sent events, and agent chunks delivered.
    for (const [concurrent, capability, what] of [
      [4, "bench_fast", "500 chunks at once"],
      [8, "bench_paced", "300 chunks 2 ms apart"],
    ] as const) {
      const t0 = performance.now();
      const counts = await Promise.all(
        Array.from({ length: concurrent }, async () => {
          let n = 0;
          let chunks = 0;
          for await (const r of mesh.executeTask({ task: "go", capabilities: [capability] }, { headers })) {
            n++;
            if (r.event?.type === TaskEventType.OUTPUT) chunks += r.event.output.split(";").length - 1;
            if (r.event?.type === TaskEventType.FAILED) throw new Error(r.event.message);
          }
          return { n, chunks };
        }),
      );
      const seconds = (performance.now() - t0) / 1000;
      const events = counts.reduce((x, y) => x + y.n, 0);
      const chunks = counts.reduce((x, y) => x + y.chunks, 0);
      console.log(`${`ExecuteTask, ${concurrent} tasks x ${what} (${core.platform.db.dialect})`.padEnd(56)} ${(events / seconds).toFixed(0).padStart(8)} events/s   ${(chunks / seconds).toFixed(0).padStart(6)} agent chunks/s   (${events} events, ${seconds.toFixed(2)} s)`);
    }

    // Many short tasks (accepted, routed, output, completed): nothing to merge, every event is one commit.
    {
      const total = 200;
      const inFlight = 8;
      const res = await measure(async () => {
        for await (const r of mesh.executeTask({ task: "go", capabilities: ["bench_single"] }, { headers })) {
          if (r.event?.type === TaskEventType.FAILED) throw new Error(r.event.message);
        }
      }, total, inFlight);
      console.log(`${`ExecuteTask, ${total} one-chunk tasks, ${inFlight} in flight (${core.platform.db.dialect})`.padEnd(56)} ${(res.perSecond * 4).toFixed(0).padStart(8)} events/s   ${res.perSecond.toFixed(0).padStart(6)} tasks/s   task p50 ${res.p50.toFixed(1)} ms, p99 ${res.p99.toFixed(1)} ms`);
    }

    // 2. Agent emit -> gRPC client receive, one task, one chunk every ~2 ms.
    const lat: number[] = [];
    for await (const r of mesh.executeTask({ task: "go", capabilities: ["bench_paced"] }, { headers })) {
      if (r.event?.type !== TaskEventType.OUTPUT) continue;
      const received = performance.now();
      for (const stamp of r.event.output.split(";")) if (stamp) lat.push(received - Number.parseFloat(stamp));
    }
    lat.sort((x, y) => x - y);
    console.log(`${"agent emit -> gRPC client receive".padEnd(48)} p50 ${percentile(lat, 50).toFixed(2).padStart(7)} ms   p99 ${percentile(lat, 99).toFixed(2).padStart(7)} ms   (n=${lat.length})`);

    // 3. Routing decisions with 10,000 registered agents.
    const knex = core.platform.db.knex;
    const now = Date.now();
    const caps = ["text_generation", "code_generation", "data_analysis", "reasoning", "image_generation"];
    const rows = Array.from({ length: 10_000 }, (_, i) => ({
      id: `bench-${i}`,
      name: `bench agent ${i}`,
      description: "",
      framework: ["langchain", "crewai", "autogen"][i % 3],
      capabilities: JSON.stringify([caps[i % 5], caps[(i + 1) % 5], `custom_${i % 50}`]),
      protocol: "openai",
      endpoint: "http://127.0.0.1:9/v1",
      tags: "[]",
      max_concurrent_tasks: 4,
      health: "healthy",
      health_detail: "",
      config: "{}",
      enabled: true,
      avg_latency_ms: (i % 97) * 10,
      success_count: i % 13,
      failure_count: i % 3,
      created_at: now,
      updated_at: now,
    }));
    await knex.batchInsert("agents", rows, 500);
    const snapshot = createAgentSnapshot(knex, createAgentRepository(knex));
    const live = { load: () => 0, circuitOpen: () => false };
    const loadStart = performance.now();
    await snapshot.get();
    const firstLoad = performance.now() - loadStart;
    for (const strategy of ["capability_match", "performance_based"] as const) {
      const pure: number[] = [];
      const withSnapshot: number[] = [];
      for (let i = 0; i < 200; i++) {
        const req = { capabilities: [caps[i % 5]!], capabilitiesInferred: false, agents: [], framework: "", strategy };
        const a = performance.now();
        const { agents, byId } = await snapshot.get();
        const b = performance.now();
        core.platform.mesh.router.route(req, agents, live, byId);
        const c = performance.now();
        pure.push(c - b);
        withSnapshot.push(c - a);
      }
      pure.sort((x, y) => x - y);
      withSnapshot.sort((x, y) => x - y);
      console.log(`${`route over 10,000 agents (${strategy})`.padEnd(48)} p50 ${percentile(pure, 50).toFixed(2).padStart(7)} ms   p99 ${percentile(pure, 99).toFixed(2).padStart(7)} ms   (n=200)`);
      console.log(`${"  + registry freshness check".padEnd(48)} p50 ${percentile(withSnapshot, 50).toFixed(2).padStart(7)} ms   p99 ${percentile(withSnapshot, 99).toFixed(2).padStart(7)} ms`);
    }
    console.log(`${"  registry snapshot load (10,002 agents, once)".padEnd(48)} ${firstLoad.toFixed(1).padStart(8)} ms`);
  } finally {
    await core.close(500);
    bulk.close();
    single.close();
    paced.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
    await pg?.drop();
  }
}

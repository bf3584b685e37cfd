/**
 * Workflow overhead: a 20-step sequential and a 50-wide parallel workflow of
 * instant agents (a loopback MeshAI-HTTP /execute server answering at once),
 * from SubmitWorkflow to the COMPLETED event seen through WatchTask, against
 * the sum of the time the agents themselves spent answering.
 */
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import type { JsonObject } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { AgentProtocol, MeshService, TaskEventType } from "../gen/meshai/v1/mesh_pb.js";
import { loadConfig } from "../src/config.js";
import { issueServiceToken } from "../src/core/auth/service.js";
import { startCore } from "../src/core/server.js";
import { freshPostgresDatabase } from "../test/support/postgres.js";
import { percentile } from "./stats.js";

/** An instant agent that adds up the time it spends on each request (body read to response written). */
function instantAgent() {
  const spent = { ms: 0, calls: 0 };
  const server = http.createServer((req, res) => {
    const t0 = performance.now();
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = JSON.parse(Buffer.concat(chunks).toString()) as { payload: { task: string } };
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ status: "completed", result: { output: `ok ${body.payload.task.length}` }, execution_time: 0, agent_id: "instant" }));
      spent.ms += performance.now() - t0;
      spent.calls++;
    });
  });
  return { server, spent };
}

export async function run(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "meshai-bench-wf-"));
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
  const agent = instantAgent();
  await new Promise<void>((r) => agent.server.listen(0, "127.0.0.1", r));
  try {
    const { accessToken } = await issueServiceToken(
      { accounts: core.platform.accounts, accessTokens: core.platform.accessTokens, mcpResource: config.mcpResource, resources: config.resources, accessTokenTtl: 3600 },
      { email: "bench@example.com", scope: "mcp:read mcp:execute mcp:manage", resource: "", ttlSeconds: 0 },
    );
    const headers = { authorization: `Bearer ${accessToken}` };
    const mesh = createClient(MeshService, createGrpcTransport({ baseUrl: core.url }));
    const endpoint = `http://127.0.0.1:${(agent.server.address() as AddressInfo).port}`;
    await mesh.registerAgent({ agent: { id: "instant", name: "instant", protocol: AgentProtocol.MESHAI_HTTP, endpoint, capabilities: ["bench_instant"], maxConcurrentTasks: 100 } }, { headers });

    // Reference: the same 20 calls as plain ExecuteTask tasks one after another (the engine's own per-task cost).
    {
      const walls: number[] = [];
      for (let i = 0; i < 6; i++) {
        const t0 = performance.now();
        for (let j = 0; j < 20; j++) {
          for await (const r of mesh.executeTask({ task: "plain", agents: ["instant"] }, { headers })) {
            if (r.event?.type === TaskEventType.FAILED) throw new Error(r.event.message);
          }
        }
        if (i > 0) walls.push(performance.now() - t0);
      }
      walls.sort((a, b) => a - b);
      console.log(`${`20 ExecuteTask calls in a row (${core.platform.db.dialect})`.padEnd(44)} wall p50 ${percentile(walls, 50).toFixed(0).padStart(5)} ms   (${(percentile(walls, 50) / 20).toFixed(1)} ms/task, reference)`);
    }

    const cases = [
      { name: "sequential, 20 steps", type: "sequential", payload: { steps: Array.from({ length: 20 }, (_, i) => ({ id: `s${i + 1}`, task: i === 0 ? "start" : "next after {{previous.output}}", agent: "instant" })) } },
      { name: "parallel, 50 wide", type: "parallel", payload: { steps: Array.from({ length: 50 }, (_, i) => ({ id: `p${i + 1}`, task: `branch ${i + 1}`, agent: "instant" })) } },
    ];
    const runs = 5;
    for (const c of cases) {
      const walls: number[] = [];
      const agentSums: number[] = [];
      let events = 0;
      for (let i = 0; i < runs + 1; i++) {
        agent.spent.ms = 0;
        agent.spent.calls = 0;
        const t0 = performance.now();
        const { workflow } = await mesh.submitWorkflow({ workflowType: c.type, payload: c.payload as JsonObject }, { headers });
        let n = 0;
        for await (const r of mesh.watchTask({ id: workflow!.id, afterSeq: 0n }, { headers })) {
          n++;
          if (r.event?.type === TaskEventType.FAILED) throw new Error(r.event.message);
        }
        const wall = performance.now() - t0;
        if (i === 0) continue; // warm-up
        walls.push(wall);
        agentSums.push(agent.spent.ms);
        events = n;
      }
      walls.sort((a, b) => a - b);
      agentSums.sort((a, b) => a - b);
      const wall = percentile(walls, 50);
      const sum = percentile(agentSums, 50);
      const steps = c.payload.steps.length;
      console.log(
        `${`workflow ${c.name} (${core.platform.db.dialect})`.padEnd(44)} wall p50 ${wall.toFixed(0).padStart(5)} ms (min ${walls[0]!.toFixed(0)}, max ${walls.at(-1)!.toFixed(0)})   ` +
          `agents' own time ${sum.toFixed(1)} ms   overhead ${((wall - sum) / steps).toFixed(1)} ms/step   ${events} events, ${runs} runs`,
      );
    }
  } finally {
    await core.close(500);
    await new Promise<void>((r) => agent.server.close(() => r()));
    await pg?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

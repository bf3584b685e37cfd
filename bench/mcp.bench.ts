/**
 * The MCP endpoint, side by side with a bare MCP SDK server in the same
 * process: `tools/call list_agents` through our facade, core and database
 * (in-process, as `meshai serve` runs; and split, facade dialing the core's
 * gRPC port as `--role facade` does) versus the same tool answered from memory by a stateless SDK server on
 * node:http (the floor any MCP server on this stack can reach). Also: memory
 * per idle session, and the time from an agent emitting output to the MCP
 * client receiving the progress notification for it.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import v8 from "node:v8";
import vm from "node:vm";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { z } from "zod";
import { loadConfig } from "../src/config.js";
import { createCoreClients, createInProcessTransport } from "../src/facade/core-client.js";
import { startFacade } from "../src/facade/server.js";
import { startTestCore, testEnv } from "../test/support/core.js";
import { measure, percentile, report } from "./stats.js";

const ACCEPT = "application/json, text/event-stream";
const COUNT = Number(process.env.MESHAI_BENCH_MCP_CALLS ?? 2000);
const CONCURRENCY = 16;
const ROUNDS = 8;

/** An OpenAI-compatible agent streaming `chunks` deltas, each carrying the moment it was written. */
function pacedAgent(chunks: number, gapMs: number): http.Server {
  return http.createServer((req, res) => {
    req.resume();
    req.on("end", async () => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      for (let i = 0; i < chunks; i++) {
        const content = `t=${performance.now().toFixed(3)};`;
        res.write(`data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"${content}"},"finish_reason":null}]}\n\n`);
        await new Promise((r) => setTimeout(r, gapMs));
      }
      res.write(`data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n`);
      res.end();
    });
  });
}

/** The bare floor: a stateless SDK server (new server and transport per request, as the SDK documents it). */
function bareServer(agents: unknown[]): http.Server {
  return http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", async () => {
      const server = new McpServer({ name: "bare", version: "1.0.0" });
      server.registerTool(
        "list_agents",
        { description: "Lists agents", inputSchema: { framework: z.string().optional() }, outputSchema: { agents: z.array(z.any()), total: z.number(), next_page_token: z.string() } },
        async () => {
          const out = { agents, total: agents.length, next_page_token: "" };
          return { content: [{ type: "text", text: JSON.stringify(out) }], structuredContent: out };
        },
      );
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
      res.on("close", () => void transport.close());
      await server.connect(transport);
      await transport.handleRequest(req, res, JSON.parse(body));
    });
  });
}

interface SideFigures {
  perSecond: number;
  p50: number;
  p99: number;
  count: number;
  /** Process CPU (user + system, every thread) per call, client included, in ms. */
  cpuMs: number;
  /** Calls per second in each round, in order (for paired ratios: rounds next to each other share the machine's load). */
  rounds: number[];
}

/** Median and range of a's throughput over b's, round by round. */
function pairedRatio(a: SideFigures, b: SideFigures): string {
  const r = a.rounds.map((x, i) => x / b.rounds[i]!).sort((x, y) => x - y);
  const mid = r.length % 2 ? r[(r.length - 1) / 2]! : (r[r.length / 2 - 1]! + r[r.length / 2]!) / 2;
  return `median ${mid.toFixed(2)}x over ${r.length} rounds (${r[0]!.toFixed(2)}-${r[r.length - 1]!.toFixed(2)})`;
}

/**
 * Runs each side `count` times with `concurrency` in flight, in `rounds`
 * alternating rounds, so that load from elsewhere on the machine, which
 * drifts, falls on both sides alike. Throughput is each side's calls over the
 * wall time of its own rounds; CPU per call is the process's CPU time (every
 * thread) during those rounds, which other processes' load barely moves.
 */
async function sideBySide(sides: Record<string, () => Promise<unknown>>, count: number, concurrency: number, rounds: number): Promise<Record<string, SideFigures>> {
  const acc = Object.fromEntries(Object.keys(sides).map((k) => [k, { latencies: [] as number[], seconds: 0, cpu: 0, rounds: [] as number[] }]));
  const per = Math.ceil(count / rounds);
  for (let r = 0; r < rounds; r++) {
    for (const [name, op] of Object.entries(sides)) {
      const a = acc[name]!;
      let next = 0;
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < per) {
            next++;
            const started = performance.now();
            await op();
            a.latencies.push(performance.now() - started);
          }
        }),
      );
      const seconds = (performance.now() - t0) / 1000;
      a.seconds += seconds;
      a.rounds.push(per / seconds);
      const cpu = process.cpuUsage(cpu0);
      a.cpu += (cpu.user + cpu.system) / 1000;
    }
  }
  return Object.fromEntries(
    Object.entries(acc).map(([name, a]) => {
      a.latencies.sort((x, y) => x - y);
      const n = a.latencies.length;
      return [name, { perSecond: n / a.seconds, p50: percentile(a.latencies, 50), p99: percentile(a.latencies, 99), count: n, cpuMs: a.cpu / n, rounds: a.rounds }];
    }),
  );
}

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function post(url: string, body: unknown, headers: Record<string, string>): Promise<Response> {
  return fetch(url, { method: "POST", headers: { "content-type": "application/json", accept: ACCEPT, ...headers }, body: JSON.stringify(body) });
}

async function initialize(url: string, token: string): Promise<string> {
  const res = await post(url, { jsonrpc: "2.0", id: 0, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "bench", version: "1" } } }, { authorization: `Bearer ${token}` });
  await res.text();
  const id = res.headers.get("mcp-session-id");
  if (!id) throw new Error(`initialize answered ${res.status}`);
  return id;
}

function forceGc(): () => void {
  v8.setFlagsFromString("--expose-gc");
  return vm.runInNewContext("gc") as () => void;
}

export async function run(): Promise<void> {
  const t = await startTestCore({ MESHAI_ALLOW_PRIVATE_NETWORK: "true", MESHAI_HEALTH_CHECK_INTERVAL: "0" });
  // As `meshai serve` runs it (role "all"): the facade reaches the core in-process.
  const facadeConfig = loadConfig(testEnv({ MESHAI_CORE_URL: t.core.url, MESHAI_ISSUER: t.config.issuer }));
  const inProcess = createCoreClients(facadeConfig, { transport: createInProcessTransport(t.core.handlerOptions) });
  const facade = await startFacade(facadeConfig, inProcess, { graceMs: 200 });
  const mcpUrl = `${facade.url}/v1/mcp`;
  // As `--role facade` runs it: a second facade over the same core, dialing its port over gRPC (h2c).
  const split = await startFacade(loadConfig(testEnv({ MESHAI_CORE_URL: t.core.url, MESHAI_ISSUER: t.config.issuer })), undefined, { graceMs: 200 });
  const splitUrl = `${split.url}/v1/mcp`;
  const token = await t.token("mcp:read mcp:execute mcp:manage", "admin@example.com");
  const auth = { authorization: `Bearer ${token}` };
  const agentServer = pacedAgent(20, 5);
  const agentUrl = await listen(agentServer);
  let bare: http.Server | undefined;
  try {
    const session = await initialize(mcpUrl, token);
    const inSession = { ...auth, "mcp-session-id": session, "mcp-protocol-version": "2025-11-25" };
    let id = 1;
    const call = (name: string, args: unknown, extra: Record<string, unknown> = {}) =>
      post(mcpUrl, { jsonrpc: "2.0", id: id++, method: "tools/call", params: { name, arguments: args, ...extra } }, inSession);

    const reg = await call("register_agent", { id: "bench-llm", name: "Bench LLM", protocol: "openai", endpoint: `${agentUrl}/v1`, capabilities: ["bench_echo"], config: { model: "bench" } });
    if (!(await reg.text()).includes('"bench-llm"')) throw new Error("could not register the bench agent");

    // The same agents, answered from memory by the bare server.
    const listed = await (await call("list_agents", {})).text();
    const agents = JSON.parse(/data: (\{.*\})/.exec(listed)![1]!).result.structuredContent.agents as unknown[];
    bare = bareServer(agents);
    const bareUrl = `${await listen(bare)}/mcp`;

    const splitSession = { ...auth, "mcp-session-id": await initialize(splitUrl, token), "mcp-protocol-version": "2025-11-25" };
    const ours = () => call("list_agents", {}).then((r) => r.text());
    const oursSplit = () =>
      post(splitUrl, { jsonrpc: "2.0", id: id++, method: "tools/call", params: { name: "list_agents", arguments: {} } }, splitSession).then((r) => r.text());
    const theirs = () => post(bareUrl, { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "list_agents", arguments: {} } }, {}).then((r) => r.text());
    await measure(ours, 200, CONCURRENCY);
    await measure(oursSplit, 200, CONCURRENCY);
    await measure(theirs, 200, CONCURRENCY);
    const { ours: a, split: s, bare: b } = (await sideBySide({ ours, split: oursSplit, bare: theirs }, COUNT, CONCURRENCY, ROUNDS)) as Record<
      "ours" | "split" | "bare",
      SideFigures
    >;
    console.log(
      `tools/call list_agents (${agents.length} agents), ${CONCURRENCY} in flight, SSE responses; client, facade, core and bare server ` +
        `in this one process (one event loop; SQLite's reads on its thread pool), ${ROUNDS} alternating rounds per side:`,
    );
    const cpu = (f: SideFigures) => `   CPU ${f.cpuMs.toFixed(2)} ms/call`;
    report("  MeshAI facade -> core (in-process) -> SQLite", a);
    console.log(`${"".padEnd(48)}${cpu(a)}`);
    report("  (split: facade -> core over gRPC h2c)", s);
    console.log(`${"".padEnd(48)}${cpu(s)}`);
    report("  bare SDK server, stateless, from memory", b);
    console.log(`${"".padEnd(48)}${cpu(b)}`);
    console.log(
      `  ratio MeshAI / bare: ${(a.perSecond / b.perSecond).toFixed(2)}x throughput, p50 ${(a.p50 / b.p50).toFixed(2)}x; ` +
        `calls per CPU-second ${(b.cpuMs / a.cpuMs).toFixed(2)}x (both include the client's share); split / bare ${(s.perSecond / b.perSecond).toFixed(2)}x`,
    );
    console.log(`  paired by round, MeshAI / bare throughput: ${pairedRatio(a, b)}`);
    // Where the time goes: the core's own ListAgents (JWT check, token and user rows, the agents query) without MCP.
    const direct = createCoreClients({ coreUrl: t.core.url });
    const rpc = () => direct.mesh.listAgents({}, { headers: auth });
    await measure(rpc, 200, CONCURRENCY);
    report("  (core ListAgents over gRPC, no MCP, for scale)", await measure(rpc, COUNT, CONCURRENCY));
    direct.close();

    // Agent output -> MCP progress notification.
    const lags: number[] = [];
    for (let i = 0; i < 10; i++) {
      const res = await call("mesh_execute", { task: "echo", capabilities: ["bench_echo"] }, { _meta: { progressToken: `p${i}` } });
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        const now = performance.now();
        buf += decoder.decode(value, { stream: true });
        let cut: number;
        while ((cut = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          for (const m of block.matchAll(/t=([\d.]+);/g)) if (block.includes("notifications/progress")) lags.push(now - Number(m[1]));
        }
      }
    }
    lags.sort((x, y) => x - y);
    console.log(
      `agent output -> MCP progress notification: p50 ${percentile(lags, 50).toFixed(2)} ms, p99 ${percentile(lags, 99).toFixed(2)} ms (n=${lags.length})`,
    );
    // Memory per idle session: 10 users x 40 sessions (under the 50-per-user cap, so none is evicted).
    const gc = forceGc();
    const users = await Promise.all(Array.from({ length: 10 }, (_, u) => t.token("mcp:read", `idle${u}@example.com`)));
    const N = users.length * 40;
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 40; i++) await Promise.all(users.map((u) => initialize(mcpUrl, u)));
    gc();
    const after = process.memoryUsage().heapUsed;
    console.log(`idle session: ${((after - before) / N / 1024).toFixed(1)} KiB of heap each (${N} sessions, after GC; facade and core share the heap)`);
  } finally {
    await new Promise<void>((r) => (bare ? bare.close(() => r()) : r()));
    bare?.closeAllConnections();
    agentServer.closeAllConnections();
    agentServer.close();
    await facade.close();
    await split.close();
    await t.close();
  }
}

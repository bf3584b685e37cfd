/**
 * Real agent peers on loopback for the mesh tests: A2A agents built with
 * @a2a-js/sdk's server, a hand-rolled A2A 0.3 JSON-RPC agent, an
 * OpenAI-compatible SSE server, a MeshAI /execute server and misbehaving ones.
 */
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { type AgentCard, type Message, Role, type Task, TaskState } from "@a2a-js/sdk";
import { type AgentExecutor, AgentEvent, DefaultRequestHandler, type ExecutionEventBus, InMemoryTaskStore, type RequestContext } from "@a2a-js/sdk/server";
import { agentCardHandler, jsonRpcHandler, UserBuilder } from "@a2a-js/sdk/server/express";
import express from "express";

export interface Peer {
  url: string;
  close(): Promise<void>;
}

async function listen(server: http.Server): Promise<Peer> {
  const sockets = new Set<Socket>();
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        for (const s of sockets) s.destroy();
      }),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const textPart = (text: string) => ({ content: { $case: "text" as const, value: text }, metadata: undefined, filename: "", mediaType: "text/plain" });

function agentMessage(ctx: RequestContext, text: string): Message {
  return { messageId: `m-${Math.random()}`, contextId: ctx.contextId, taskId: ctx.taskId, role: Role.ROLE_AGENT, parts: [textPart(text)], metadata: undefined, extensions: [], referenceTaskIds: [] };
}

function userText(ctx: RequestContext): string {
  const p = ctx.userMessage.parts[0]?.content;
  return p?.$case === "text" ? p.value : "";
}

function status(ctx: RequestContext, bus: ExecutionEventBus, state: TaskState, text?: string) {
  bus.publish(AgentEvent.statusUpdate({ taskId: ctx.taskId, contextId: ctx.contextId, status: { state, message: text ? agentMessage(ctx, text) : undefined, timestamp: new Date().toISOString() }, metadata: undefined }));
}

function newTask(ctx: RequestContext): Task {
  return { id: ctx.taskId, contextId: ctx.contextId, status: { state: TaskState.TASK_STATE_SUBMITTED, message: undefined, timestamp: new Date().toISOString() }, artifacts: [], history: [ctx.userMessage], metadata: undefined };
}

function artifact(ctx: RequestContext, bus: ExecutionEventBus, text: string, append: boolean) {
  bus.publish(AgentEvent.artifactUpdate({ taskId: ctx.taskId, contextId: ctx.contextId, artifact: { artifactId: "answer", name: "answer", description: "", parts: [textPart(text)], metadata: undefined, extensions: [] }, append, lastChunk: false, metadata: undefined }));
}

export type A2aBehaviour = "stream" | "fail" | "slow";

/** What an A2A peer saw: the texts it was sent, the tasks it was asked to cancel, the auth headers. */
export interface A2aLog {
  received: string[];
  cancelled: string[];
  authorization: (string | undefined)[];
}

/**
 * An A2A 1.0 agent built with the SDK's DefaultRequestHandler and Express
 * JSON-RPC handler. "stream" answers in chunks, "fail" reports failed, "slow"
 * works until cancelled (cancelTask publishes canceled).
 */
export async function startA2aAgent(behaviour: A2aBehaviour, opts: { streaming: boolean; name?: string; skills?: string[] }): Promise<Peer & { log: A2aLog }> {
  const log: A2aLog = { received: [], cancelled: [], authorization: [] };
  const cancelled = new Set<string>();
  const executor: AgentExecutor = {
    async execute(ctx, bus) {
      const text = userText(ctx);
      log.received.push(text);
      bus.publish(AgentEvent.task(newTask(ctx)));
      status(ctx, bus, TaskState.TASK_STATE_WORKING, "thinking");
      if (behaviour === "fail") {
        status(ctx, bus, TaskState.TASK_STATE_FAILED, "model quota exceeded");
        bus.finished();
        return;
      }
      if (behaviour === "slow") {
        for (let i = 0; i < 600 && !cancelled.has(ctx.taskId); i++) await sleep(50);
        if (!cancelled.has(ctx.taskId)) status(ctx, bus, TaskState.TASK_STATE_COMPLETED, "done late");
        bus.finished();
        return;
      }
      await sleep(20);
      artifact(ctx, bus, "Hello from A2A", false);
      await sleep(20);
      artifact(ctx, bus, `, you said: ${text}`, true);
      status(ctx, bus, TaskState.TASK_STATE_COMPLETED);
      bus.finished();
    },
    async cancelTask(taskId, bus) {
      log.cancelled.push(taskId);
      cancelled.add(taskId);
      bus.publish(AgentEvent.statusUpdate({ taskId, contextId: "", status: { state: TaskState.TASK_STATE_CANCELED, message: undefined, timestamp: new Date().toISOString() }, metadata: undefined }));
      bus.finished();
    },
  };
  const app = express();
  const server = http.createServer(app);
  const peer = await listen(server);
  const card: AgentCard = {
    name: opts.name ?? `A2A ${behaviour} agent`,
    description: `An A2A test agent that behaves: ${behaviour}`,
    supportedInterfaces: [{ url: `${peer.url}/a2a/jsonrpc`, protocolBinding: "JSONRPC", tenant: "", protocolVersion: "1.0" }],
    provider: undefined,
    version: "1.0.0",
    capabilities: { streaming: opts.streaming, pushNotifications: false, extensions: [] },
    securitySchemes: {},
    securityRequirements: [],
    defaultInputModes: ["text/plain"],
    defaultOutputModes: ["text/plain"],
    skills: (opts.skills ?? ["text_generation"]).map((id) => ({ id, name: id, description: `does ${id}`, tags: [id], examples: [], inputModes: [], outputModes: [], securityRequirements: [] })),
    signatures: [],
  };
  const handler = new DefaultRequestHandler(card, new InMemoryTaskStore(), executor);
  app.use((req, _res, next) => {
    log.authorization.push(req.headers.authorization);
    next();
  });
  app.use("/.well-known/agent-card.json", agentCardHandler({ agentCardProvider: handler }));
  app.use("/a2a/jsonrpc", jsonRpcHandler({ requestHandler: handler, userBuilder: UserBuilder.noAuthentication }));
  return { ...peer, log };
}

/**
 * An agent speaking A2A 0.3 exactly as 0.3 servers do: card at the pre-0.3
 * path /.well-known/agent.json with `url` and `preferredTransport`, JSON-RPC
 * methods message/send, tasks/get, tasks/cancel, `kind` discriminators.
 */
export async function startLegacyA2aAgent(): Promise<Peer & { methods: string[] }> {
  const methods: string[] = [];
  const tasks = new Map<string, { polls: number; text: string; canceled: boolean }>();
  const app = express();
  app.use(express.json());
  const server = http.createServer(app);
  const peer = await listen(server);
  app.get("/.well-known/agent.json", (_req, res) => {
    res.json({
      protocolVersion: "0.3.0",
      name: "Legacy echo agent",
      description: "Speaks A2A 0.3",
      url: `${peer.url}/rpc`,
      preferredTransport: "JSONRPC",
      version: "0.3.1",
      capabilities: { streaming: false },
      defaultInputModes: ["text"],
      defaultOutputModes: ["text"],
      skills: [{ id: "echo", name: "Echo", description: "Echoes", tags: ["text_generation"] }],
    });
  });
  const taskJson = (id: string) => {
    const t = tasks.get(id)!;
    const state = t.canceled ? "canceled" : t.polls >= 2 ? "completed" : t.polls === 1 ? "working" : "submitted";
    return {
      kind: "task",
      id,
      contextId: "ctx-1",
      status: { state, timestamp: new Date().toISOString() },
      artifacts: state === "completed" ? [{ artifactId: "a1", parts: [{ kind: "text", text: `legacy echo: ${t.text}` }] }] : [],
    };
  };
  app.post("/rpc", (req, res) => {
    const { id, method, params } = req.body as { id: number; method: string; params: Record<string, unknown> };
    methods.push(method);
    if (method === "message/send") {
      const msg = params.message as { parts: { kind: string; text?: string }[] };
      const taskId = `legacy-${tasks.size + 1}`;
      tasks.set(taskId, { polls: 0, text: msg.parts.find((p) => p.kind === "text")?.text ?? "", canceled: false });
      return res.json({ jsonrpc: "2.0", id, result: taskJson(taskId) });
    }
    if (method === "tasks/get") {
      const t = tasks.get(String(params.id));
      if (!t) return res.json({ jsonrpc: "2.0", id, error: { code: -32001, message: "Task not found" } });
      t.polls++;
      return res.json({ jsonrpc: "2.0", id, result: taskJson(String(params.id)) });
    }
    if (method === "tasks/cancel") {
      const t = tasks.get(String(params.id));
      if (t) t.canceled = true;
      return res.json({ jsonrpc: "2.0", id, result: taskJson(String(params.id)) });
    }
    res.json({ jsonrpc: "2.0", id, error: { code: -32601, message: "Method not found" } });
  });
  return { ...peer, methods };
}

export type OpenAiBehaviour = "ok" | "garbage" | "drop" | "hang" | "error" | "unauthorized";

/** An OpenAI-compatible server speaking the real chat.completion.chunk SSE format. */
export async function startOpenAiServer(): Promise<Peer & { behaviour: OpenAiBehaviour; requests: { auth?: string; body: Record<string, unknown> }[] }> {
  const state = { behaviour: "ok" as OpenAiBehaviour, requests: [] as { auth?: string; body: Record<string, unknown> }[] };
  const server = http.createServer((req, res) => {
    if (req.method === "GET" && req.url === "/v1/models") {
      res.writeHead(200, { "content-type": "application/json" });
      return res.end(JSON.stringify({ object: "list", data: [{ id: "test-model", object: "model" }] }));
    }
    if (req.method !== "POST" || req.url !== "/v1/chat/completions") {
      res.writeHead(404).end();
      return;
    }
    let raw = "";
    req.on("data", (c) => (raw += c));
    req.on("end", async () => {
      const body = JSON.parse(raw) as { model: string; messages: { content: string }[] };
      state.requests.push({ auth: req.headers.authorization, body });
      const b = state.behaviour;
      if (b === "unauthorized") {
        res.writeHead(401, { "content-type": "application/json" });
        return res.end(JSON.stringify({ error: { message: "Incorrect API key provided", type: "invalid_request_error", code: "invalid_api_key" } }));
      }
      if (b === "error") {
        res.writeHead(429, { "content-type": "application/json" });
        return res.end(JSON.stringify({ error: { message: "Rate limit reached for requests", type: "requests", code: "rate_limit_exceeded" } }));
      }
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      if (b === "garbage") {
        res.write("data: this is not json\n\n");
        return res.end();
      }
      if (b === "hang") return; // headers sent, nothing more, ever
      const words = ["The ", "answer ", "is ", "42."];
      const chunk = (delta: Record<string, unknown>, finish: string | null) =>
        `data: ${JSON.stringify({ id: "chatcmpl-1", object: "chat.completion.chunk", created: 1, model: body.model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
      res.write(chunk({ role: "assistant", content: "" }, null));
      for (const [i, w] of words.entries()) {
        if (b === "drop" && i === 2) {
          res.socket?.destroy();
          return;
        }
        res.write(chunk({ content: w }, null));
        await sleep(5);
      }
      res.write(chunk({}, "stop"));
      res.write("data: [DONE]\n\n");
      res.end();
    });
  });
  const peer = await listen(server);
  return Object.assign(state, peer);
}

/** MeshAI's public SDK wire format: POST /execute and GET /health. */
export async function startMeshHttpAgent(): Promise<Peer & { calls: Record<string, unknown>[] }> {
  const calls: Record<string, unknown>[] = [];
  const app = express();
  app.use(express.json());
  app.get("/health", (_req, res) => res.json({ status: "healthy" }));
  app.post("/execute", (req, res) => {
    calls.push(req.body as Record<string, unknown>);
    const b = req.body as { task_id: string; payload: { task: string } };
    res.json({ status: "completed", result: { output: `crew says: ${b.payload.task}`, steps: 3 }, execution_time: 0.01, agent_id: "crew-1" });
  });
  return { ...(await listen(http.createServer(app))), calls };
}

/** A LangServe runnable: POST /stream (SSE data/metadata/end), POST /invoke, GET /input_schema. */
export async function startLangServe(): Promise<Peer & { inputs: unknown[] }> {
  const inputs: unknown[] = [];
  const app = express();
  app.use(express.json());
  app.get("/chain/input_schema", (_req, res) => res.json({ title: "ChainInput", type: "string" }));
  app.post("/chain/invoke", (req, res) => {
    inputs.push(req.body.input);
    res.json({ output: { content: `invoked: ${JSON.stringify(req.body.input)}`, type: "ai" }, metadata: { run_id: "r1" } });
  });
  app.post("/chain/stream", async (req, res) => {
    inputs.push(req.body.input);
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.write(`event: metadata\ndata: {"run_id": "r2"}\n\n`);
    for (const word of ["Lang", "Serve ", "says ", "hi"]) {
      res.write(`event: data\ndata: ${JSON.stringify({ content: word, type: "AIMessageChunk" })}\n\n`);
      await sleep(2);
    }
    res.write("event: end\n\n");
    res.end();
  });
  app.post("/broken/stream", (_req, res) => {
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.write(`event: error\ndata: {"status_code": 500, "message": "Internal Server Error: chain blew up"}\n\n`);
    res.write("event: end\n\n");
    res.end();
  });
  return { ...(await listen(http.createServer(app))), inputs };
}

/** A LangGraph Agent Server: POST /runs/stream (metadata, messages, values, end), POST /runs/wait, GET /ok. */
export async function startLangGraph(): Promise<Peer & { bodies: Record<string, unknown>[] }> {
  const bodies: Record<string, unknown>[] = [];
  const app = express();
  app.use(express.json());
  app.get("/ok", (_req, res) => res.json({ ok: true }));
  const human = (b: Record<string, unknown>) => ((b.input as { messages: { content: string }[] }).messages[0]!.content);
  app.post("/runs/wait", (req, res) => {
    bodies.push(req.body);
    res.json({ messages: [{ type: "human", content: human(req.body) }, { type: "ai", content: `graph answer to ${human(req.body)}` }] });
  });
  app.post("/runs/stream", async (req, res) => {
    bodies.push(req.body);
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.write(`event: metadata\ndata: {"run_id": "run-1", "attempt": 1}\n\n`);
    for (const t of ["graph ", "answer"]) {
      res.write(`event: messages\ndata: ${JSON.stringify([{ type: "AIMessageChunk", content: t, id: "m1" }, { langgraph_node: "agent" }])}\n\n`);
      await sleep(2);
    }
    res.write(`event: values\ndata: ${JSON.stringify({ messages: [{ type: "human", content: human(req.body) }, { type: "ai", content: "graph answer" }] })}\n\n`);
    res.write("event: end\ndata: null\n\n");
    res.end();
  });
  return { ...(await listen(http.createServer(app))), bodies };
}

/** An OpenAI-compatible server that streams slowly and records when the client goes away. */
export async function startSlowOpenAi(): Promise<Peer & { closed: number }> {
  const state = { closed: 0 };
  const server = http.createServer((req, res) => {
    req.resume();
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.write(`data: {"choices":[{"index":0,"delta":{"content":"slow "},"finish_reason":null}]}\n\n`);
    const timer = setInterval(() => res.write(`data: {"choices":[{"index":0,"delta":{"content":"."},"finish_reason":null}]}\n\n`), 50);
    res.on("close", () => {
      clearInterval(timer);
      state.closed++;
    });
  });
  return Object.assign(state, await listen(server));
}

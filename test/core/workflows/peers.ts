/**
 * A MeshAI-HTTP agent on loopback (POST /execute, the SDK's real wire format)
 * whose answers a test scripts, and which counts what it received and what
 * it answered in full (a request the core aborted is received, not answered).
 */
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import express from "express";

export interface ExecuteBody {
  task_id: string;
  payload: { task: string };
  context: Record<string, unknown>;
}

export type Answer = { output: string } | { fail: string };

export interface ScriptedAgent {
  url: string;
  /** Every task text received, in order. */
  received: string[];
  /** Task texts answered with a complete response. */
  answered: string[];
  contexts: Record<string, unknown>[];
  /** Requests whose connection closed before an answer was sent. */
  aborted: string[];
  behave: (task: string, n: number, body: ExecuteBody) => Answer | Promise<Answer>;
  /** Resolves when `received` has at least n entries matching. */
  waitFor(pred: (task: string) => boolean, n?: number): Promise<void>;
  close(): Promise<void>;
}

export function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { opened, open };
}

export async function startScriptedAgent(behave: ScriptedAgent["behave"] = (task) => ({ output: `done: ${task}` })): Promise<ScriptedAgent> {
  const app = express();
  app.use(express.json({ limit: "5mb" }));
  const waiters: (() => void)[] = [];
  const agent: ScriptedAgent = {
    url: "",
    received: [],
    answered: [],
    contexts: [],
    aborted: [],
    behave,
    waitFor(pred, n = 1) {
      return new Promise<void>((resolve) => {
        const check = () => {
          if (agent.received.filter(pred).length >= n) {
            resolve();
            return true;
          }
          return false;
        };
        if (!check()) waiters.push(() => void check());
      });
    },
    close: async () => undefined,
  };
  app.get("/health", (_req, res) => res.json({ status: "healthy" }));
  app.post("/execute", async (req, res) => {
    const body = req.body as ExecuteBody;
    const task = body.payload.task;
    agent.received.push(task);
    agent.contexts.push(body.context);
    for (const w of [...waiters]) w();
    let closed = false;
    res.on("close", () => {
      if (!res.writableFinished) {
        closed = true;
        agent.aborted.push(task);
      }
    });
    const answer = await agent.behave(task, agent.received.length, body);
    if (closed || res.destroyed) return;
    res.on("finish", () => agent.answered.push(task));
    if ("fail" in answer) res.json({ status: "failed", error: answer.fail });
    else res.json({ status: "completed", result: { output: answer.output }, execution_time: 0, agent_id: "scripted" });
  });
  const server = http.createServer(app);
  const sockets = new Set<Socket>();
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  agent.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  agent.close = () =>
    new Promise<void>((r) => {
      server.close(() => r());
      for (const s of sockets) s.destroy();
    });
  return agent;
}

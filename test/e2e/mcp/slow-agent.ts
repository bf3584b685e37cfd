import http from "node:http";

/**
 * A stand-in for an agent built on MeshAI's public SDK (`POST /execute`,
 * `GET /health`), on loopback. It holds every /execute until the test
 * releases it, and records when MeshAI gives up on a call (the connection
 * closes first): that is how cancellation is observed from the outside.
 */
export interface SlowAgent {
  url: string;
  /** Task ids of /execute calls received, in order. */
  received: string[];
  /** Task ids whose call MeshAI abandoned (connection closed before the answer). */
  abandoned: string[];
  /** Resolves once a call for some task arrived (the n-th, from 1). */
  arrived(n: number): Promise<string>;
  /** Resolves once the call of `taskId` was abandoned. */
  abandonedCall(taskId: string): Promise<void>;
  /** Answers every held call (and later ones at once) with this text. */
  release(text: string): void;
  /** Goes back to holding new calls. */
  hold(): void;
  close(): Promise<void>;
}

export async function startSlowAgent(): Promise<SlowAgent> {
  const received: string[] = [];
  const abandoned: string[] = [];
  const held = new Map<string, http.ServerResponse>();
  let released: string | undefined;
  const waiters: (() => void)[] = [];
  const wake = () => waiters.splice(0).forEach((w) => w());

  const answer = (res: http.ServerResponse, text: string) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ status: "completed", result: text, execution_time: 0.01, agent_id: "slow" }));
  };

  const server = http.createServer((req, res) => {
    if (req.method === "GET") {
      res.writeHead(200, { "content-type": "application/json" });
      return void res.end(JSON.stringify({ status: "healthy" }));
    }
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const { task_id: id } = JSON.parse(body) as { task_id: string };
      received.push(id);
      if (released !== undefined) answer(res, released);
      else {
        held.set(id, res);
        res.once("close", () => {
          if (!res.writableFinished) abandoned.push(id);
          held.delete(id);
          wake();
        });
      }
      wake();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };

  const until = (ok: () => boolean) =>
    new Promise<void>((resolve) => {
      const check = () => (ok() ? resolve() : waiters.push(check));
      check();
    });

  return {
    url: `http://127.0.0.1:${port}`,
    received,
    abandoned,
    async arrived(n) {
      await until(() => received.length >= n);
      return received[n - 1]!;
    },
    abandonedCall: (taskId) => until(() => abandoned.includes(taskId)),
    release(text) {
      released = text;
      for (const [, res] of held) answer(res, text);
      held.clear();
    },
    hold() {
      released = undefined;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

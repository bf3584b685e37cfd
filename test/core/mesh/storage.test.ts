import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentProtocol, MeshService, type TaskEvent, TaskEventType, TaskState } from "../../../gen/meshai/v1/mesh_pb.js";
import { TaskEndedError, createTaskRepository } from "../../../src/core/store/tasks.js";
import { startTestCore, type TestCore } from "../../support/core.js";
import { databaseTargets, freshPostgresDatabase } from "../../support/postgres.js";
import { type A2aLog, type Peer, startA2aAgent } from "./peers.js";

const auth = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
const last = (events: TaskEvent[]) => events[events.length - 1]!;

for (const target of databaseTargets()) {
  describe(`task events on ${target.name}: stored with a gap-free seq, followed by any replica, never left running`, () => {
    let a: TestCore;
    let b: TestCore;
    let slow: Peer & { log: A2aLog };
    let drop: (() => Promise<void>) | undefined;
    let dataDir: string;
    let env: Record<string, string>;
    let token: string;

    beforeAll(async () => {
      slow = await startA2aAgent("slow", { streaming: true });
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "meshai-mesh-"));
      env = { MESHAI_ALLOW_PRIVATE_NETWORK: "true", MESHAI_HEALTH_CHECK_INTERVAL: "0", MESHAI_DATA_DIR: dataDir };
      if (target.url) {
        const db = await freshPostgresDatabase(target.url);
        drop = db.drop;
        env.MESHAI_DATABASE_URL = db.url;
      }
      a = await startTestCore(env);
      b = await startTestCore(env);
      token = await a.token("mcp:read mcp:execute mcp:manage");
      await createClient(MeshService, createGrpcTransport({ baseUrl: a.core.url })).registerAgent(
        { agent: { id: "slow", name: "slow", protocol: AgentProtocol.A2A, endpoint: slow.url, capabilities: ["slow_work"] } },
        auth(token),
      );
    }, 60_000);

    afterAll(async () => {
      await b?.close();
      await a?.close();
      await slow?.close();
      await drop?.();
      fs.rmSync(dataDir, { recursive: true, force: true });
    });

    it("gives concurrent appends distinct consecutive seqs and refuses events after the end", async () => {
      const tasks = createTaskRepository(a.core.platform.db.knex);
      const now = Date.now();
      await tasks.insert({ id: `tsk_seq_${target.name}`, kind: "task", state: "executing", owner: "u", input: "x", request: {}, capabilities: [], agentId: null, output: "", result: null, error: "", lastSeq: 0, parentId: null, idempotencyKey: null, createdAt: now, updatedAt: now, endedAt: null, runnerId: null, heartbeatAt: now });
      const seqs = await Promise.all(
        Array.from({ length: 20 }, (_, i) => tasks.appendEvent(`tsk_seq_${target.name}`, now, (seq) => ({ type: "output", json: JSON.stringify({ seq, i }) }))),
      );
      expect([...seqs].sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      const stored = await tasks.eventsAfter(`tsk_seq_${target.name}`, 0);
      expect(stored.map((e) => JSON.parse(e.event).seq)).toEqual(stored.map((e) => e.seq));
      expect((await tasks.byId(`tsk_seq_${target.name}`))?.lastSeq).toBe(20);
      await tasks.appendEvent(`tsk_seq_${target.name}`, now, (seq) => ({ type: "failed", json: JSON.stringify({ seq }) }), { state: "failed" });
      await expect(tasks.appendEvent(`tsk_seq_${target.name}`, now, (seq) => ({ type: "output", json: JSON.stringify({ seq }) }))).rejects.toBeInstanceOf(TaskEndedError);
    });

    it("lets a replica that did not run a task watch it and cancel it, which stops the agent call where it runs", async () => {
      const onA = createClient(MeshService, createGrpcTransport({ baseUrl: a.core.url }));
      const onB = createClient(MeshService, createGrpcTransport({ baseUrl: b.core.url }));
      let id = "";
      const ctl = new AbortController();
      try {
        for await (const r of onA.executeTask({ task: "long job", capabilities: ["slow_work"], detached: true }, { ...auth(token), signal: ctl.signal })) {
          id = r.event!.taskId;
          if (r.event!.type === TaskEventType.PROGRESS) ctl.abort();
        }
      } catch {
        /* our own cancel of the stream; the task is detached */
      }
      const seen: TaskEvent[] = [];
      const watching = (async () => {
        for await (const r of onB.watchTask({ id }, auth(token))) seen.push(r.event!);
      })();
      while (!seen.some((e) => e.type === TaskEventType.PROGRESS)) await new Promise((r) => setTimeout(r, 50));
      const cancelled = await onB.cancelTask({ id, reason: "from replica b" }, auth(token));
      expect(cancelled.task?.state).toBe(TaskState.CANCELLED);
      await watching;
      expect(last(seen)).toMatchObject({ type: TaskEventType.CANCELLED, message: "cancelled: from replica b" });
      expect(seen.map((e) => Number(e.seq))).toEqual(seen.map((_, i) => i + 1));
      // Replica a notices the stored cancel and cancels the remote A2A task.
      while (slow.log.cancelled.length === 0) await new Promise((r) => setTimeout(r, 100));
    }, 20_000);

    it("fails a task whose process died, with a reason, when a core starts", async () => {
      const knex = a.core.platform.db.knex;
      const old = Date.now() - 10 * 60_000;
      await knex("tasks").insert({ id: `tsk_dead_${target.name}`, kind: "task", state: "executing", owner: "u", input: "x", request: "{}", capabilities: "[]", output: "", error: "", last_seq: 0, created_at: old, updated_at: old, runner_id: "run_gone", heartbeat_at: old });
      const c = await startTestCore(env);
      try {
        const t = await createTaskRepository(knex).byId(`tsk_dead_${target.name}`);
        expect(t?.state).toBe("failed");
        expect(t?.error).toContain("interrupted: the MeshAI process running this task stopped");
        const events = await createTaskRepository(knex).eventsAfter(`tsk_dead_${target.name}`, 0);
        expect(events.map((e) => e.type)).toEqual(["failed"]);
      } finally {
        await c.close();
      }
    });

    it("routes the seed's example requests to the built-in agents on a fresh install", async () => {
      const mesh = createClient(MeshService, createGrpcTransport({ baseUrl: a.core.url }));
      const run = async (task: string) => {
        const events: TaskEvent[] = [];
        for await (const r of mesh.executeTask({ task }, auth(token))) events.push(r.event!);
        return events;
      };
      const scan = await run("Analyze this code for security vulnerabilities:\n```python\nimport hashlib\npassword = 'hunter2'\nresult = eval(input())\nh = hashlib.md5(password.encode())\n```");
      const routed = scan.find((e) => e.type === TaskEventType.ROUTED)!;
      expect(routed.routing).toMatchObject({ agentId: "builtin.security-scanner", capabilitiesInferred: true });
      expect(last(scan).type).toBe(TaskEventType.COMPLETED);
      expect(last(scan).output).toMatch(/eval/i);
      const stats = await run("Compute statistics for this CSV:\nregion,sales\nnorth,10\nsouth,20\neast,30");
      expect(stats.find((e) => e.type === TaskEventType.ROUTED)?.routing?.agentId).toBe("builtin.data-analyst");
      expect(last(stats).type).toBe(TaskEventType.COMPLETED);
      expect(last(stats).output).toContain("20");
    });
  });
}

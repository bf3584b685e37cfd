import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MeshService, type TaskEvent, TaskEventType } from "../../../gen/meshai/v1/mesh_pb.js";
import { databaseTargets, freshPostgresDatabase } from "../../support/postgres.js";
import { type TestCore, startTestCore } from "../../support/core.js";

// A fresh install with no outside agent: the built-ins answer real requests end to end over gRPC.
for (const target of databaseTargets()) {
  describe(`a fresh install on ${target.name} runs the seed's requests on built-in agents`, () => {
    let t: TestCore;
    let drop: (() => Promise<void>) | undefined;
    let mesh: Client<typeof MeshService>;
    let ana: { headers: { authorization: string } };
    let bob: { headers: { authorization: string } };

    beforeAll(async () => {
      let extra: Record<string, string> = {};
      if (target.name === "postgres") {
        const fresh = await freshPostgresDatabase(target.url!);
        drop = fresh.drop;
        extra = { MESHAI_DATABASE_URL: fresh.url };
      }
      t = await startTestCore(extra);
      mesh = createClient(MeshService, createGrpcTransport({ baseUrl: t.core.url }));
      ana = { headers: { authorization: `Bearer ${await t.token("mcp:read mcp:execute", "ana@example.com")}` } };
      bob = { headers: { authorization: `Bearer ${await t.token("mcp:read mcp:execute", "bob@example.com")}` } };
    }, 60_000);

    afterAll(async () => {
      await t?.close();
      await drop?.();
    });

    const run = async (task: string, who = ana) => {
      const events: TaskEvent[] = [];
      for await (const r of mesh.executeTask({ task }, who)) events.push(r.event!);
      return events;
    };

    it("scans pasted JavaScript and reports findings with line numbers in the result", async () => {
      const events = await run(
        "analyze this code for security vulnerabilities\n```js\nconst { exec } = require('child_process');\napp.get('/x', (req, res) => exec('ls ' + req.query.dir));\n```",
      );
      expect(events.find((e) => e.type === TaskEventType.ROUTED)?.routing).toMatchObject({
        agentId: "builtin.security-scanner",
        requiredCapabilities: ["security_analysis"],
        capabilitiesInferred: true,
      });
      const done = events.at(-1)!;
      expect(done.type).toBe(TaskEventType.COMPLETED);
      expect(done.output).toContain("[CRITICAL] Shell command built from variables (command-injection, CWE-78) at line 2");
      const task = (await mesh.getTask({ id: done.taskId }, ana)).task!;
      expect((task.result?.findings as Array<{ line: number }>)[0]!.line).toBe(2);
    });

    it("answers a question about MeshAI from the docs with citations", async () => {
      const events = await run("How does MeshAI's circuit breaker work?");
      expect(events.find((e) => e.type === TaskEventType.ROUTED)?.routing?.agentId).toBe("builtin.docs");
      const done = events.at(-1)!;
      expect(done.type).toBe(TaskEventType.COMPLETED);
      expect(done.output).toContain("doc:routing#retries-fallback-and-circuit-breakers");
      expect(done.output).toContain(`${t.config.issuer}/docs/routing#retries-fallback-and-circuit-breakers`);
    });

    it("fails a text_generation task clearly when no LLM is registered", async () => {
      const done = (await run("Write a short poem about the sea")).at(-1)!;
      expect(done.type).toBe(TaskEventType.FAILED);
      expect(done.message).toMatch(/text_generation/);
      expect(done.message).toMatch(/regist/i);
    });

    it("makes a finished task searchable by its owner only", async () => {
      const done = (await run("compute statistics over this CSV:\nflavour,scoops\nvanilla,3\npistachio,5\nmango,4")).at(-1)!;
      expect(done.type).toBe(TaskEventType.COMPLETED);
      const mine = await mesh.search({ query: "pistachio", type: "tasks" }, ana);
      expect(mine.results.map((r) => r.id)).toEqual([`task:${done.taskId}`]);
      expect((await mesh.search({ query: "pistachio" }, bob)).results).toEqual([]);
      const fetched = await mesh.fetch({ id: `task:${done.taskId}` }, ana);
      expect(fetched.text).toContain("scoops (number): 3 values");
      expect(fetched.metadata?.state).toBe("completed");
    });
  });
}

import fs from "node:fs";
import type { JsonObject } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentProtocol, MeshService, type TaskEvent, TaskEventType, TaskState } from "../../../gen/meshai/v1/mesh_pb.js";
import { type Config, loadConfig } from "../../../src/config.js";
import { issueServiceToken } from "../../../src/core/auth/service.js";
import { type RunningCore, startCore } from "../../../src/core/server.js";
import { testEnv } from "../../support/core.js";
import { databaseTargets, type FreshPostgresDatabase, freshPostgresDatabase } from "../../support/postgres.js";
import { freshEnv, removeDir, runCli, type Served, startServe } from "../../support/process.js";
import { type ScriptedAgent, startScriptedAgent } from "./peers.js";

const auth = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

/** A token issued by the running core, as the CLI's `meshai token` would. */
async function tokenFor(core: RunningCore, config: Config, email: string, scope: string): Promise<string> {
  const { accounts, accessTokens, users } = core.platform;
  if (!(await users.byEmail(email))) await accounts.create({ email, password: "user-password-1", admin: false });
  const res = await issueServiceToken(
    { accounts, accessTokens, mcpResource: config.mcpResource, resources: config.resources, accessTokenTtl: config.accessTokenTtl },
    { email, scope, resource: "", ttlSeconds: 0 },
  );
  return res.accessToken;
}

for (const target of databaseTargets()) {
  describe(`a workflow survives its core stopping mid-run and finishes with every step run once (${target.name})`, () => {
    let env: Record<string, string>;
    let pg: FreshPostgresDatabase | undefined;
    let agent: ScriptedAgent;
    let hold = true;
    const cores: RunningCore[] = [];

    beforeAll(async () => {
      agent = await startScriptedAgent(async (task) => {
        // The middle step hangs the first time: the core is stopped while it runs.
        if (task.startsWith("step two") && hold) return new Promise(() => undefined);
        return { output: `did ${task.split(":")[0]}` };
      });
      if (target.name === "postgres") pg = await freshPostgresDatabase(target.url);
      env = testEnv({ MESHAI_ALLOW_PRIVATE_NETWORK: "true", MESHAI_HEALTH_CHECK_INTERVAL: "0", ...(pg ? { MESHAI_DATABASE_URL: pg.url } : {}) });
    }, 60_000);

    afterAll(async () => {
      for (const c of cores) await c.close(200).catch(() => undefined);
      await agent?.close();
      await pg?.drop();
      if (env) fs.rmSync(env.MESHAI_DATA_DIR!, { recursive: true, force: true });
    });

    it("resumes from the last completed step after a restart on the same database", async () => {
      const first = await startCore(loadConfig(env));
      cores.push(first);
      const mesh1 = createClient(MeshService, createGrpcTransport({ baseUrl: first.url }));
      const admin = await tokenFor(first, loadConfig(env), "admin@example.com", "mcp:read mcp:execute mcp:manage");
      const user = await tokenFor(first, loadConfig(env), "carol@example.com", "mcp:read mcp:execute");
      await mesh1.registerAgent({ agent: { id: "durable", name: "durable", protocol: AgentProtocol.MESHAI_HTTP, endpoint: agent.url, capabilities: ["durable_work"], maxConcurrentTasks: 8 } }, auth(admin));

      const { workflow } = await mesh1.submitWorkflow(
        {
          workflowType: "sequential",
          idempotencyKey: "durable-1",
          payload: {
            steps: [
              { id: "one", task: "step one: start", capabilities: ["durable_work"] },
              { id: "two", task: "step two: after {{previous.output}}", capabilities: ["durable_work"] },
              { id: "three", task: "step three: after {{previous.output}}", capabilities: ["durable_work"] },
            ],
          } as JsonObject,
        },
        auth(user),
      );
      const id = workflow!.id;
      await agent.waitFor((x) => x.startsWith("step two"));
      await first.close(200);
      cores.splice(cores.indexOf(first), 1);
      expect(agent.answered).toEqual(["step one: start"]);

      hold = false;
      const second = await startCore(loadConfig(env));
      cores.push(second);
      const mesh2 = createClient(MeshService, createGrpcTransport({ baseUrl: second.url }));
      const events: TaskEvent[] = [];
      for await (const r of mesh2.watchTask({ id, afterSeq: 0n }, auth(user))) events.push(r.event!);
      const { task } = await mesh2.getTask({ id }, auth(user));
      expect(task!.state).toBe(TaskState.COMPLETED);
      expect(task!.output).toBe("did step three");

      // Every step answered exactly once; step one was never sent again.
      expect(agent.answered).toEqual(["step one: start", "step two: after did step one", "step three: after did step two"]);
      expect(agent.received.filter((x) => x.startsWith("step one"))).toHaveLength(1);
      expect(agent.received.filter((x) => x.startsWith("step three"))).toHaveLength(1);
      expect(events.filter((e) => e.type === TaskEventType.STEP_FINISHED).map((e) => e.stepId)).toEqual(["one", "two", "three"]);
      expect(events.some((e) => /resumed by a new MeshAI process: 1 of 3 steps already done/.test(e.message))).toBe(true);
      expect(events.map((e) => Number(e.seq))).toEqual(events.map((_, i) => i + 1));

      // The retried submit after the restart is the same workflow, not a new run.
      const again = await mesh2.submitWorkflow({ workflowType: "sequential", idempotencyKey: "durable-1", payload: { steps: [{ task: "ignored" }] } as JsonObject }, auth(user));
      expect(again.workflow!.id).toBe(id);
      expect(agent.received).not.toContain("ignored");
    });
  });
}

describe("a workflow survives its core process being killed (SIGKILL) mid-step and finishes when it starts again", () => {
  let agent: ScriptedAgent;
  let hold = true;
  let dataDir = "";
  const served: Served[] = [];

  afterAll(async () => {
    for (const s of served) await s.stop().catch(() => undefined);
    await agent?.close();
    removeDir(dataDir);
  });

  it("runs every step exactly once across the kill (SQLite: the next start takes the workflow over at once)", async () => {
    agent = await startScriptedAgent(async (task) => {
      if (task.startsWith("second") && hold) return new Promise(() => undefined);
      return { output: `did ${task.split(" ")[0]}` };
    });
    const fresh = await freshEnv({
      MESHAI_ALLOW_PRIVATE_NETWORK: "true",
      MESHAI_HEALTH_CHECK_INTERVAL: "0",
      MESHAI_ADMIN_EMAIL: "admin@example.com",
      MESHAI_ADMIN_PASSWORD: "admin-password-1",
    });
    dataDir = fresh.dataDir;
    const first = await startServe(["--role", "core"], { env: fresh.env });
    served.push(first);
    const issued = await runCli(["token", "create", "--user", "admin@example.com", "--scope", "mcp:read mcp:execute mcp:manage"], { env: fresh.env });
    expect(issued.code).toBe(0);
    const token = issued.stdout.trim();
    const mesh1 = createClient(MeshService, createGrpcTransport({ baseUrl: first.coreUrl }));
    await mesh1.registerAgent({ agent: { id: "survivor", name: "survivor", protocol: AgentProtocol.MESHAI_HTTP, endpoint: agent.url, capabilities: ["surviving"], maxConcurrentTasks: 8 } }, auth(token));
    const { workflow } = await mesh1.submitWorkflow(
      {
        workflowType: "dag",
        payload: {
          steps: [
            { id: "a", task: "first step", capabilities: ["surviving"] },
            { id: "b", task: "second step after {{steps.a.output}}", depends_on: ["a"], capabilities: ["surviving"] },
            { id: "c", task: "third step after {{steps.b.output}}", depends_on: ["b"], capabilities: ["surviving"] },
          ],
        } as JsonObject,
      },
      auth(token),
    );
    await agent.waitFor((x) => x.startsWith("second"));
    first.child.kill("SIGKILL");
    expect((await first.exited).signal).toBe("SIGKILL");
    served.splice(served.indexOf(first), 1);

    hold = false;
    const second = await startServe(["--role", "core"], { env: fresh.env });
    served.push(second);
    const mesh2 = createClient(MeshService, createGrpcTransport({ baseUrl: second.coreUrl }));
    const events: TaskEvent[] = [];
    for await (const r of mesh2.watchTask({ id: workflow!.id, afterSeq: 0n }, auth(token))) events.push(r.event!);
    const { task } = await mesh2.getTask({ id: workflow!.id }, auth(token));
    expect(task!.state).toBe(TaskState.COMPLETED);
    expect(task!.output).toBe("did third");
    expect(agent.answered).toEqual(["first step", "second step after did first", "third step after did second"]);
    expect(agent.received.filter((x) => x.startsWith("first"))).toHaveLength(1);
    expect(events.filter((e) => e.type === TaskEventType.STEP_FINISHED).map((e) => e.stepId)).toEqual(["a", "b", "c"]);
  }, 90_000);
});

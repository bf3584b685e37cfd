import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MeshService } from "../../gen/meshai/v1/mesh_pb.js";
import { createMetrics, TASK_STATE_CACHE_MS } from "../../src/observability/metrics.js";
import { startTestCore, type TestCore } from "../support/core.js";
import { databaseTargets, freshPostgresDatabase, type FreshPostgresDatabase } from "../support/postgres.js";
import { parseExposition, total } from "../support/prometheus.js";

describe.each(databaseTargets())("meshai_tasks counts tasks by state from the database ($name)", (target) => {
  let t: TestCore;
  let pg: FreshPostgresDatabase | undefined;
  beforeAll(async () => {
    pg = target.url ? await freshPostgresDatabase(target.url) : undefined;
    t = await startTestCore(pg ? { MESHAI_DATABASE_URL: pg.url } : {});
  });
  afterAll(async () => {
    await t?.close();
    await pg?.drop();
  });

  it("shows a completed and a failed task after they ran, read with one GROUP BY at scrape time", async () => {
    const token = await t.token("mcp:execute mcp:read");
    const mesh = createClient(MeshService, createGrpcTransport({ baseUrl: t.core.url }));
    const run = async (task: string, capabilities: string[] = []) => {
      for await (const _ of mesh.executeTask({ task, capabilities }, { headers: { authorization: `Bearer ${token}` } })) {
        /* drain */
      }
    };
    await run("Check this code for security vulnerabilities:\n```js\neval(userInput)\n```");
    await run("teleport me", ["teleportation"]);
    const res = await fetch(`${t.core.url}/metrics`);
    const m = parseExposition(await res.text());
    expect(total(m, "meshai_tasks", { kind: "task", state: "completed" })).toBe(1);
    expect(total(m, "meshai_tasks", { kind: "task", state: "failed" })).toBe(1);
    expect(total(m, "meshai_task_completions_total", { kind: "task", outcome: "failed" })).toBe(1);
  });
});

describe("the task gauge reads the database at most every 5 s", () => {
  it("serves scrapes within the window from the cache, and reads again after it", async () => {
    let now = 1_000_000;
    let reads = 0;
    const metrics = createMetrics({ defaultMetrics: false, now: () => now });
    metrics.setTaskCounter(async () => [{ kind: "task", state: "queued", count: ++reads }]);
    const queued = async () => total(parseExposition((await metrics.exposition()).body), "meshai_tasks", { state: "queued" });
    expect(await queued()).toBe(1);
    now += TASK_STATE_CACHE_MS - 1;
    expect(await queued()).toBe(1);
    now += 1;
    expect(await queued()).toBe(2);
    expect(reads).toBe(2);
  });

  it("keeps the last values when the database cannot be read, and tries again at the next scrape", async () => {
    let fail = false;
    let now = 0;
    const metrics = createMetrics({ defaultMetrics: false, now: () => now });
    metrics.setTaskCounter(async () => {
      if (fail) throw new Error("database down");
      return [{ kind: "task", state: "executing", count: 3 }];
    });
    const executing = async () => total(parseExposition((await metrics.exposition()).body), "meshai_tasks", { state: "executing" });
    expect(await executing()).toBe(3);
    fail = true;
    now += TASK_STATE_CACHE_MS;
    expect(await executing()).toBe(3);
  });
});

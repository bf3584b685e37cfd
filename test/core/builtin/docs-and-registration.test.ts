import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AgentEvent } from "../../../src/core/agents/adapter.js";
import { BUILTIN_AGENTS, createBuiltinAdapter } from "../../../src/core/agents/builtin/index.js";
import { ensureBuiltinAgents } from "../../../src/core/agents/builtin/register.js";
import { createRegistry } from "../../../src/core/mesh/registry.js";
import { createSearchIndex, type SearchIndex } from "../../../src/core/mesh/search.js";
import { createAgentRepository, type AgentRecord } from "../../../src/core/store/agents.js";
import { type Database, openDatabase } from "../../../src/core/store/db.js";
import { databaseTargets, freshPostgresDatabase } from "../../support/postgres.js";

const ISSUER = "https://mesh.example.com";

for (const target of databaseTargets()) {
  describe(`built-ins over the ${target.name} store`, () => {
    let db: Database;
    let cleanup: () => Promise<void>;
    let search: SearchIndex;
    let now = 1_800_000_000_000;
    const clock = { now: () => now };
    const docsDir = fs.mkdtempSync(path.join(os.tmpdir(), "meshai-docs-"));

    beforeAll(async () => {
      if (target.name === "postgres") {
        const fresh = await freshPostgresDatabase(target.url!);
        db = openDatabase({ databaseUrl: fresh.url, sqliteFile: "" });
        cleanup = fresh.drop;
      } else {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "meshai-builtin-"));
        db = openDatabase({ databaseUrl: "", sqliteFile: path.join(dir, "meshai.sqlite") });
        cleanup = async () => fs.rmSync(dir, { recursive: true, force: true });
      }
      await db.migrate();
      search = createSearchIndex({ knex: db.knex, issuer: `${ISSUER}/`, clock });
      await search.indexDocs();
    });

    afterAll(async () => {
      await db.close();
      await cleanup();
      fs.rmSync(docsDir, { recursive: true, force: true });
    });

    describe("the docs agent answers from MeshAI's docs with citations", () => {
      const agent = { id: "builtin.docs", config: { builtin: "docs" } } as unknown as AgentRecord;
      const ask = async (task: string) => {
        const events: AgentEvent[] = [];
        const adapter = createBuiltinAdapter({ docs: search });
        for await (const e of adapter.run(agent, { taskId: "t", task, capabilities: ["documentation"], context: {}, timeoutMs: 5000, signal: new AbortController().signal })) {
          events.push(e);
        }
        return events.at(-1) as Extract<AgentEvent, { type: "result" }>;
      };

      it("cites the routing doc for a circuit-breaker question", async () => {
        const r = await ask("When does a circuit breaker open for an agent?");
        const citations = r.data!.citations as Array<{ id: string; url: string }>;
        expect(citations[0]).toEqual({
          id: "doc:routing#retries-fallback-and-circuit-breakers",
          title: "Routing and task execution: Retries, fallback and circuit breakers",
          url: `${ISSUER}/docs/routing#retries-fallback-and-circuit-breakers`,
        });
        expect(r.text).toMatch(/opens after 5 consecutive failures[^\n]*\[1\]/);
        expect(r.text).toContain(`[1] Routing and task execution: Retries, fallback and circuit breakers (doc:routing#retries-fallback-and-circuit-breakers) ${ISSUER}/docs/routing#retries-fallback-and-circuit-breakers`);
      });

      it("cites the getting-started doc for PostgreSQL set-up", async () => {
        const r = await ask("How do I use PostgreSQL instead of SQLite?");
        const ids = (r.data!.citations as Array<{ id: string }>).map((c) => c.id);
        expect(ids[0]).toBe("doc:getting-started#use-postgresql-instead-of-sqlite");
        expect(r.text).toContain("MESHAI_DATABASE_URL");
      });

      it("says so when the docs do not cover a question", async () => {
        const r = await ask("zymurgy brewing schedules");
        expect(r.data!.citations).toEqual([]);
        expect(r.text).toMatch(/found nothing in MeshAI's docs/);
      });

      it("is unhealthy without a docs index", async () => {
        expect(await createBuiltinAdapter().health(agent, new AbortController().signal)).toMatchObject({ health: "unhealthy" });
        expect(await createBuiltinAdapter({ docs: search }).health(agent, new AbortController().signal)).toMatchObject({ health: "healthy" });
      });
    });

    describe("docs are re-indexed when a file changes", () => {
      it("picks up an edited, added and removed doc after the check interval", async () => {
        const local = createSearchIndex({ knex: db.knex, issuer: ISSUER, clock, docsDir, docsCheckIntervalMs: 1000 });
        fs.writeFileSync(path.join(docsDir, "alpha.md"), "# Alpha\n\nIntro about walruses.\n\n## Feeding\n\nWalruses eat clams.\n");
        await local.indexDocs();
        const first = await local.search({ query: "walruses clams", type: "docs" }, { owner: null });
        expect(first.map((h) => h.id)).toEqual(["doc:alpha#feeding"]);
        fs.writeFileSync(path.join(docsDir, "alpha.md"), "# Alpha\n\n## Feeding\n\nWalruses eat mussels.\n");
        fs.writeFileSync(path.join(docsDir, "beta.md"), "# Beta\n\nPenguins eat krill.\n");
        now += 1500;
        expect((await local.search({ query: "clams", type: "docs" }, { owner: null })).map((h) => h.id)).toEqual([]);
        expect((await local.search({ query: "mussels", type: "docs" }, { owner: null })).map((h) => h.id)).toEqual(["doc:alpha#feeding"]);
        expect((await local.search({ query: "krill", type: "docs" }, { owner: null })).map((h) => h.id)).toEqual(["doc:beta"]);
        fs.rmSync(path.join(docsDir, "beta.md"));
        now += 1500;
        expect(await local.search({ query: "krill", type: "docs" }, { owner: null })).toEqual([]);
        await expect(local.fetch("doc:beta", { owner: null })).rejects.toMatchObject({ code: 5 });
        // Put the real corpus back for the other tests on this database.
        await search.indexDocs();
      });
    });

    describe("built-in agents are registered once and follow the shipped definition", () => {
      it("inserts missing built-ins, never duplicates, keeps an admin's disable and updates changed definitions", async () => {
        const registry = createRegistry({ agents: createAgentRepository(db.knex), clock });
        expect((await ensureBuiltinAgents(registry)).inserted.sort()).toEqual(BUILTIN_AGENTS.map((d) => d.id).sort());
        expect(await ensureBuiltinAgents(registry)).toEqual({ inserted: [], updated: [] });
        const all = await registry.list({ includeDisabled: true });
        expect(all.filter((a) => a.protocol === "builtin").map((a) => a.id).sort()).toEqual(BUILTIN_AGENTS.map((d) => d.id).sort());

        await registry.update("builtin.data-analyst", { enabled: false }, ["enabled"]);
        await registry.update("builtin.data-analyst", { description: "old text", config: { builtin: "data-analyst", definition_version: "old" } }, ["description", "config"]);
        expect(await ensureBuiltinAgents(registry)).toEqual({ inserted: [], updated: ["builtin.data-analyst"] });
        const analyst = await registry.get("builtin.data-analyst");
        expect(analyst.enabled).toBe(false);
        expect(analyst.description).toBe(BUILTIN_AGENTS.find((d) => d.id === "builtin.data-analyst")!.description);
        expect(analyst.capabilities).toEqual(["data_analysis"]);

        await registry.remove("builtin.docs");
        expect((await ensureBuiltinAgents(registry)).inserted).toEqual(["builtin.docs"]);
      });

      it("advertises only the capabilities each built-in has", () => {
        expect(Object.fromEntries(BUILTIN_AGENTS.map((d) => [d.id, d.capabilities]))).toEqual({
          "builtin.security-scanner": ["security_analysis"],
          "builtin.data-analyst": ["data_analysis"],
          "builtin.docs": ["documentation"],
        });
      });
    });
  });
}

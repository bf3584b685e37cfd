import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentProtocol, MeshService } from "../../../gen/meshai/v1/mesh_pb.js";
import { databaseTargets, freshPostgresDatabase } from "../../support/postgres.js";
import { type TestCore, startTestCore } from "../../support/core.js";

const ISSUER = "http://localhost:8080";

// The same behaviour on SQLite FTS5 and PostgreSQL full-text search.
for (const target of databaseTargets()) {
  describe(`Search and Fetch on ${target.name}`, () => {
    let t: TestCore;
    let drop: (() => Promise<void>) | undefined;
    let mesh: Client<typeof MeshService>;
    let admin: { authorization: string };
    let ana: { authorization: string };
    let bob: { authorization: string };
    let anaId: string;
    let bobId: string;

    const as = (h: { authorization: string }) => ({ headers: h });

    async function insertTask(id: string, owner: string, input: string, output: string, state = "completed") {
      const now = Date.now();
      await t.core.platform.db.knex("tasks").insert({
        id, kind: "task", state, owner, input, output, capabilities: "[]", request: "{}", agent_id: "builtin.data-analyst",
        created_at: now, updated_at: now, last_seq: 0, error: "",
      });
    }

    beforeAll(async () => {
      let extra: Record<string, string> = {};
      if (target.name === "postgres") {
        const fresh = await freshPostgresDatabase(target.url!);
        drop = fresh.drop;
        extra = { MESHAI_DATABASE_URL: fresh.url };
      }
      t = await startTestCore(extra);
      mesh = createClient(MeshService, createGrpcTransport({ baseUrl: t.core.url }));
      admin = { authorization: `Bearer ${await t.token("mcp:read mcp:execute mcp:manage")}` };
      ana = { authorization: `Bearer ${await t.token("mcp:read mcp:execute", "ana@example.com")}` };
      bob = { authorization: `Bearer ${await t.token("mcp:read mcp:execute", "bob@example.com")}` };
      anaId = (await t.core.platform.users.byEmail("ana@example.com"))!.id;
      bobId = (await t.core.platform.users.byEmail("bob@example.com"))!.id;
      await mesh.registerAgent(
        {
          agent: {
            id: "forecaster",
            name: "Revenue Forecaster",
            description: "Predicts quarterly revenue from historical sales with seasonal models.",
            framework: "crewai",
            capabilities: ["data_analysis", "forecasting"],
            protocol: AgentProtocol.A2A,
            endpoint: "http://127.0.0.1:9/",
          },
        },
        as(admin),
      );
      await insertTask("tsk_ana1", anaId, "summarise the zeppelin maintenance logbook", "All zeppelin engines nominal.");
      await insertTask("tsk_bob1", bobId, "count zeppelin sightings per county", "Kent: 3, Essex: 1");
      const now = Date.now();
      await t.core.platform.db.knex("workflow_templates").insert({
        name: "quarterly-report",
        description: "Gathers sales figures, forecasts the next quarter and drafts a summary report.",
        type: "sequential",
        definition: JSON.stringify({ steps: [{ id: "gather" }, { id: "forecast" }] }),
        parameters: JSON.stringify([{ name: "quarter", description: "e.g. 2026-Q1" }]),
        created_at: now,
        updated_at: now,
      });
    }, 60_000);

    afterAll(async () => {
      await t?.close();
      await drop?.();
    });

    describe("ranking and typed results", () => {
      it("finds a built-in agent by what it does, best match first, with a URL under the issuer", async () => {
        const res = await mesh.search({ query: "security vulnerabilities", type: "agents" }, as(ana));
        expect(res.results[0]).toMatchObject({ id: "agent:builtin.security-scanner", type: "agent", url: `${ISSUER}/agents/builtin.security-scanner` });
        expect(res.results[0]!.snippet).toMatch(/\*\*/);
        expect(res.results[0]!.score).toBeGreaterThan(0);
      });

      it("ranks a title match above a body-only match", async () => {
        const res = await mesh.search({ query: "forecaster", type: "all" }, as(ana));
        expect(res.results[0]!.id).toBe("agent:forecaster");
      });

      it("finds doc sections chunked by heading", async () => {
        const res = await mesh.search({ query: "circuit breaker", type: "docs" }, as(ana));
        expect(res.results[0]!.id).toBe("doc:routing#retries-fallback-and-circuit-breakers");
        expect(res.results[0]!.url).toBe(`${ISSUER}/docs/routing#retries-fallback-and-circuit-breakers`);
        expect(res.results.every((r) => r.type === "doc")).toBe(true);
      });

      it("finds workflow templates", async () => {
        const res = await mesh.search({ query: "forecasts next quarter", type: "workflows" }, as(ana));
        expect(res.results.map((r) => r.id)).toEqual(["workflow:quarterly-report"]);
      });

      it("falls back to any word when no result has every word", async () => {
        const res = await mesh.search({ query: "forecaster xylophonequartz", type: "agents" }, as(ana));
        expect(res.results[0]!.id).toBe("agent:forecaster");
      });

      it("honours phrases and exclusions", async () => {
        const phrase = await mesh.search({ query: '"quarterly revenue"', type: "agents" }, as(ana));
        expect(phrase.results.map((r) => r.id)).toEqual(["agent:forecaster"]);
        const excluded = await mesh.search({ query: "revenue -seasonal", type: "agents" }, as(ana));
        expect(excluded.results.map((r) => r.id)).not.toContain("agent:forecaster");
      });

      it("splits dotted and hyphenated ids into words on both back ends", async () => {
        const res = await mesh.search({ query: "builtin.security-scanner", type: "agents" }, as(ana));
        expect(res.results[0]!.id).toBe("agent:builtin.security-scanner");
      });

      it("finds nothing for a query of stop words alone", async () => {
        expect((await mesh.search({ query: "how do I", type: "all" }, as(ana))).results).toEqual([]);
      });

      it("treats operator characters and SQL in a query as plain words", async () => {
        for (const query of ['"unterminated phrase', "agent*", "NEAR(security scanner)", "AND OR NOT", "'; DROP TABLE agents; --", "^$%&()", "title:scanner", "-", "OR"]) {
          const res = await mesh.search({ query }, as(ana));
          expect(Array.isArray(res.results)).toBe(true);
        }
        expect((await mesh.fetch({ id: "agent:builtin.docs" }, as(ana))).id).toBe("agent:builtin.docs");
      });

      it("accepts the singular type names", async () => {
        const res = await mesh.search({ query: "forecaster", type: "agent" }, as(ana));
        expect(res.results.map((r) => r.id)).toEqual(["agent:forecaster"]);
      });

      it("limits the number of results", async () => {
        const res = await mesh.search({ query: "agent", type: "docs", limit: 2 }, as(ana));
        expect(res.results).toHaveLength(2);
      });
    });

    describe("bad search input is InvalidArgument naming the field", () => {
      it.each([
        [{ query: "" }, "query"],
        [{ query: "x", type: "people" }, "type"],
        [{ query: "x", limit: 51 }, "limit"],
        [{ query: "x", limit: -1 }, "limit"],
      ])("%j", async (req, field) => {
        const err = await mesh.search(req, as(ana)).catch((e: unknown) => ConnectError.from(e));
        expect(err).toMatchObject({ code: Code.InvalidArgument });
        expect((err as ConnectError).rawMessage.startsWith(`${field}:`)).toBe(true);
      });
    });

    describe("tasks are searched only among the caller's own (admins see all)", () => {
      it("shows a user only their tasks", async () => {
        const a = await mesh.search({ query: "zeppelin", type: "tasks" }, as(ana));
        expect(a.results.map((r) => r.id)).toEqual(["task:tsk_ana1"]);
        const b = await mesh.search({ query: "zeppelin", type: "all" }, as(bob));
        expect(b.results.map((r) => r.id)).toEqual(["task:tsk_bob1"]);
      });

      it("shows an admin everyone's tasks", async () => {
        const res = await mesh.search({ query: "zeppelin", type: "tasks" }, as(admin));
        expect(res.results.map((r) => r.id).sort()).toEqual(["task:tsk_ana1", "task:tsk_bob1"]);
      });

      it("sees a task's new output at the next search", async () => {
        await t.core.platform.db.knex("tasks").where({ id: "tsk_ana1" }).update({ output: "Engine four needs a gasket", updated_at: Date.now() + 5 });
        const res = await mesh.search({ query: "gasket", type: "tasks" }, as(ana));
        expect(res.results.map((r) => r.id)).toEqual(["task:tsk_ana1"]);
      });

      it("does not let another user fetch a task, and says not found", async () => {
        await expect(mesh.fetch({ id: "task:tsk_ana1" }, as(bob))).rejects.toMatchObject({ code: Code.NotFound });
        const own = await mesh.fetch({ id: "task:tsk_ana1" }, as(ana));
        expect(own).toMatchObject({ id: "task:tsk_ana1", url: `${ISSUER}/tasks/tsk_ana1` });
        expect(own.text).toContain("zeppelin maintenance logbook");
        expect(own.metadata?.state).toBe("completed");
      });
    });

    describe("the index follows the registry", () => {
      it("reindexes an updated agent and drops a deleted or disabled one", async () => {
        await mesh.registerAgent(
          { agent: { id: "poet", name: "Poet", description: "Writes sonnets", capabilities: ["text_generation"], protocol: AgentProtocol.OPENAI, endpoint: "http://127.0.0.1:9/v1" } },
          as(admin),
        );
        expect((await mesh.search({ query: "sonnets" }, as(ana))).results.map((r) => r.id)).toEqual(["agent:poet"]);
        await mesh.updateAgent({ agent: { id: "poet", description: "Writes limericks" }, updateMask: { paths: ["description"] } }, as(admin));
        expect((await mesh.search({ query: "sonnets" }, as(ana))).results).toEqual([]);
        expect((await mesh.search({ query: "limericks" }, as(ana))).results.map((r) => r.id)).toEqual(["agent:poet"]);
        await mesh.updateAgent({ agent: { id: "poet", enabled: false }, updateMask: { paths: ["enabled"] } }, as(admin));
        expect((await mesh.search({ query: "limericks" }, as(ana))).results).toEqual([]);
        await mesh.updateAgent({ agent: { id: "poet", enabled: true }, updateMask: { paths: ["enabled"] } }, as(admin));
        expect((await mesh.search({ query: "limericks" }, as(ana))).results).toHaveLength(1);
        await mesh.deleteAgent({ id: "poet" }, as(admin));
        expect((await mesh.search({ query: "limericks" }, as(ana))).results).toEqual([]);
      });
    });

    if (target.name === "postgres") {
      describe("replicas sharing one database see each other's changes", () => {
        it("finds on one core an agent registered and then removed through another", async () => {
          const other = await startTestCore({ MESHAI_DATABASE_URL: t.config.databaseUrl });
          try {
            const mesh2 = createClient(MeshService, createGrpcTransport({ baseUrl: other.core.url }));
            const admin2 = { authorization: `Bearer ${await other.token("mcp:read mcp:manage")}` };
            expect((await mesh2.search({ query: "quokka" }, as(admin2))).results).toEqual([]);
            await mesh.registerAgent(
              { agent: { id: "quokka", name: "Quokka", description: "Cheerful marsupial facts", capabilities: ["text_generation"], protocol: AgentProtocol.OPENAI, endpoint: "http://127.0.0.1:9/v1" } },
              as(admin),
            );
            expect((await mesh2.search({ query: "quokka" }, as(admin2))).results.map((r) => r.id)).toEqual(["agent:quokka"]);
            await mesh.deleteAgent({ id: "quokka" }, as(admin));
            expect((await mesh2.search({ query: "quokka" }, as(admin2))).results).toEqual([]);
          } finally {
            await other.close();
          }
        });
      });
    }

    describe("Fetch returns each type in full", () => {
      it("fetches an agent without its credentials", async () => {
        const res = await mesh.fetch({ id: "agent:builtin.data-analyst" }, as(ana));
        expect(res).toMatchObject({ id: "agent:builtin.data-analyst", title: "Data Analyst", url: `${ISSUER}/agents/builtin.data-analyst` });
        expect(res.text).toContain("data_analysis");
        expect(res.metadata).toMatchObject({ type: "agent", protocol: "builtin", capabilities: ["data_analysis"] });
      });

      it("fetches a whole doc and one section", async () => {
        const doc = await mesh.fetch({ id: "doc:routing" }, as(ana));
        expect(doc).toMatchObject({ title: "Routing and task execution", url: `${ISSUER}/docs/routing` });
        expect(doc.text).toContain("## Strategies");
        const section = await mesh.fetch({ id: "doc:routing#strategies" }, as(ana));
        expect(section.title).toBe("Routing and task execution: Strategies");
        expect(section.text).toContain("round_robin");
        expect(section.text).not.toContain("## Task events");
        expect(section.url).toBe(`${ISSUER}/docs/routing#strategies`);
      });

      it("fetches a workflow template", async () => {
        const res = await mesh.fetch({ id: "workflow:quarterly-report" }, as(ana));
        expect(res).toMatchObject({ title: "quarterly-report", url: `${ISSUER}/workflows/quarterly-report` });
        expect(res.metadata?.workflow_type).toBe("sequential");
      });

      it("answers NotFound for unknown ids and InvalidArgument naming id for malformed ones", async () => {
        for (const id of ["agent:nope", "doc:nope", "doc:routing#nope", "workflow:nope", "task:nope"]) {
          await expect(mesh.fetch({ id }, as(ana))).rejects.toMatchObject({ code: Code.NotFound });
        }
        for (const id of ["", "nope", "user:1", "doc:Bad Slug"]) {
          const err = await mesh.fetch({ id }, as(ana)).catch((e: unknown) => ConnectError.from(e));
          expect(err).toMatchObject({ code: Code.InvalidArgument });
          expect((err as ConnectError).rawMessage.startsWith("id:")).toBe(true);
        }
      });

      it("returns a fetchable id and a non-empty URL for every search result", async () => {
        const res = await mesh.search({ query: "agent", limit: 50 }, as(ana));
        expect(res.results.length).toBeGreaterThan(3);
        for (const r of res.results) {
          expect(r.url.startsWith(`${ISSUER}/`)).toBe(true);
          const f = await mesh.fetch({ id: r.id }, as(ana));
          expect(f.url).toBe(r.url);
          expect(f.text.length).toBeGreaterThan(0);
        }
      });
    });
  });
}

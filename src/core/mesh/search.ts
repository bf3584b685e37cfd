import { Code, ConnectError } from "@connectrpc/connect";
import type { Knex } from "knex";
import type { DocPassage, DocsSearch } from "../agents/builtin/docs-agent.js";
import type { Clock } from "../clock.js";
import { fromJson, toJson } from "../store/rows.js";
import { isPostgres } from "../store/search-migration.js";
import { DEFAULT_DOCS_DIR, DOC_SLUG, type Doc, docsFingerprint, readDocs } from "./docs-corpus.js";
import { loosen, type ParsedQuery, parseQuery, toFts5, toWebsearch } from "./search-text.js";

/**
 * Search and Fetch over the mesh: agents, MeshAI's docs, workflow templates
 * and tasks, in one full-text index (SQLite FTS5 with bm25 and snippet(), or
 * PostgreSQL tsvector with websearch_to_tsquery, ts_rank and ts_headline).
 *
 * The index follows its sources on read: each search first brings the
 * entries it may return up to date (agents and templates by `updated_at`,
 * the caller's tasks likewise, docs by a folder fingerprint), so changes made
 * by any replica, the CLI or another service are seen without hooks.
 */

export const SEARCH_TYPES = ["all", "agents", "docs", "workflows", "tasks"] as const;
export type SearchType = (typeof SEARCH_TYPES)[number];
export type EntryKind = "agent" | "doc" | "workflow" | "task";

const KIND_OF_TYPE: Record<Exclude<SearchType, "all">, EntryKind> = { agents: "agent", docs: "doc", workflows: "workflow", tasks: "task" };

export interface SearchHit {
  id: string;
  kind: EntryKind;
  title: string;
  url: string;
  snippet: string;
  score: number;
}

export interface FetchedItem {
  id: string;
  title: string;
  text: string;
  url: string;
  metadata: Record<string, unknown>;
}

/** Who is asking: tasks are visible to their owner, or to everyone's admin (`owner: null`). */
export interface SearchScope {
  owner: string | null;
}

export interface SearchIndexDeps {
  knex: Knex;
  issuer: string;
  clock: Clock;
  /** Defaults to the package's docs/ folder. */
  docsDir?: string;
  /** How often at most the docs folder is checked for edits; default 2 s. */
  docsCheckIntervalMs?: number;
}

interface EntryRow {
  id: string;
  kind: EntryKind;
  owner: string | null;
  title: string;
  body: string;
  path: string;
  meta: string;
  version: string;
  indexed_at: number;
}

const TASK_TEXT_LIMIT = 20_000;
const SYNC_BATCH = 500;

function invalid(field: string, why: string): ConnectError {
  return new ConnectError(`${field}: ${why}`, Code.InvalidArgument);
}

/** Parses a typed id; throws InvalidArgument naming `id` when malformed. */
export function parseTypedId(id: string): { kind: EntryKind; key: string; section?: string } {
  const m = /^(agent|doc|workflow|task):(.+)$/.exec(id.trim());
  if (!m || m[2]!.length > 300) {
    throw invalid("id", "must be a typed id such as agent:<id>, doc:<slug>, doc:<slug>#<section>, workflow:<name> or task:<id>");
  }
  const kind = m[1] as EntryKind;
  if (kind === "doc") {
    const [slug, section] = m[2]!.split("#", 2) as [string, string | undefined];
    if (!DOC_SLUG.test(slug)) throw invalid("id", `${JSON.stringify(slug)} is not a doc slug (lower-case letters, digits, '-' and '_')`);
    return section ? { kind, key: slug, section } : { kind, key: slug };
  }
  return { kind, key: m[2]! };
}

export function createSearchIndex(deps: SearchIndexDeps) {
  const { knex, clock } = deps;
  const pg = isPostgres(knex);
  const issuer = deps.issuer.replace(/\/+$/, "");
  const docsDir = deps.docsDir ?? DEFAULT_DOCS_DIR;
  const docsInterval = deps.docsCheckIntervalMs ?? 2000;
  let docs: Doc[] = [];
  let docsPrint: string | undefined;
  let docsCheckedAt = -Infinity;
  let docsSync: Promise<void> | undefined;

  const urlOf = (path: string) => `${issuer}${path}`;

  async function upsert(rows: EntryRow[]): Promise<void> {
    for (let i = 0; i < rows.length; i += 100) {
      const chunk = rows.slice(i, i + 100);
      await knex("search_entries").insert(chunk).onConflict("id").merge(["kind", "owner", "title", "body", "path", "meta", "version", "indexed_at"]);
    }
  }

  // ---- docs ---------------------------------------------------------------

  function docRows(list: Doc[]): EntryRow[] {
    const now = clock.now();
    const rows: EntryRow[] = [];
    for (const d of list) {
      for (const s of d.sections) {
        const id = s.anchor ? `doc:${d.slug}#${s.anchor}` : `doc:${d.slug}`;
        rows.push({
          id,
          kind: "doc",
          owner: null,
          title: s.anchor ? `${d.title}: ${s.heading}` : d.title,
          body: s.markdown,
          path: `/docs/${d.slug}${s.anchor ? `#${s.anchor}` : ""}`,
          meta: toJson({ slug: d.slug, section: s.anchor, heading: s.heading, doc_title: d.title }),
          version: d.version,
          indexed_at: now,
        });
      }
    }
    return rows;
  }

  /** Re-reads docs/ when its files changed, and brings the doc entries in step. */
  async function refreshDocs(force = false): Promise<void> {
    if (!force && clock.now() - docsCheckedAt < docsInterval) return;
    if (docsSync) return docsSync;
    docsSync = (async () => {
      docsCheckedAt = clock.now();
      const print = docsFingerprint(docsDir);
      if (!force && print === docsPrint) return;
      const list = readDocs(docsDir);
      const rows = docRows(list);
      const stored = new Map<string, string>(
        (await knex("search_entries").where({ kind: "doc" }).select("id", "version")).map((r: { id: string; version: string }) => [r.id, r.version]),
      );
      const wanted = new Set(rows.map((r) => r.id));
      const gone = [...stored.keys()].filter((id) => !wanted.has(id));
      for (let i = 0; i < gone.length; i += 200) await knex("search_entries").whereIn("id", gone.slice(i, i + 200)).delete();
      await upsert(rows.filter((r) => stored.get(r.id) !== r.version));
      docs = list;
      docsPrint = print;
    })().finally(() => {
      docsSync = undefined;
    });
    return docsSync;
  }

  // ---- agents, workflow templates, tasks ------------------------------------

  async function syncAgents(): Promise<void> {
    for (;;) {
      const stale = await knex("agents as a")
        .leftJoin("search_entries as e", "e.id", knex.raw("? || a.id", ["agent:"]))
        .where("a.enabled", true)
        .andWhere((q) => q.whereNull("e.id").orWhereRaw("e.version <> CAST(a.updated_at AS TEXT)"))
        .select("a.id", "a.name", "a.description", "a.framework", "a.capabilities", "a.protocol", "a.tags", "a.updated_at")
        .limit(SYNC_BATCH);
      if (stale.length === 0) break;
      const now = clock.now();
      await upsert(
        stale.map((a: Record<string, unknown>) => {
          const caps = fromJson<string[]>(a.capabilities, []);
          const tags = fromJson<string[]>(a.tags, []);
          const body = [
            String(a.description ?? ""),
            `Capabilities: ${caps.join(", ")} (${caps.map((c) => c.replace(/_/g, " ")).join(", ")})`,
            `Framework: ${a.framework || "unspecified"}. Protocol: ${a.protocol}.`,
            tags.length ? `Tags: ${tags.join(", ")}` : "",
            `Agent id: ${a.id}`,
          ].filter(Boolean).join("\n");
          return {
            id: `agent:${a.id}`,
            kind: "agent" as const,
            owner: null,
            title: String(a.name),
            body,
            path: `/agents/${encodeURIComponent(String(a.id))}`,
            meta: toJson({ framework: a.framework, capabilities: caps, protocol: a.protocol, tags }),
            version: String(Number(a.updated_at)),
            indexed_at: now,
          };
        }),
      );
      if (stale.length < SYNC_BATCH) break;
    }
    await knex.raw(
      `DELETE FROM search_entries WHERE kind = 'agent' AND NOT EXISTS (
         SELECT 1 FROM agents a WHERE a.id = substr(search_entries.id, 7) AND a.enabled = ?)`,
      [true],
    );
  }

  async function syncWorkflows(): Promise<void> {
    for (;;) {
      const stale = await knex("workflow_templates as w")
        .leftJoin("search_entries as e", "e.id", knex.raw("? || w.name", ["workflow:"]))
        .where((q) => q.whereNull("e.id").orWhereRaw("e.version <> CAST(w.updated_at AS TEXT)"))
        .select("w.name", "w.description", "w.type", "w.parameters", "w.updated_at")
        .limit(SYNC_BATCH);
      if (stale.length === 0) break;
      const now = clock.now();
      await upsert(
        stale.map((w: Record<string, unknown>) => {
          const params = fromJson<Array<{ name?: string; description?: string } | string>>(w.parameters, []);
          const paramText = params.map((p) => (typeof p === "string" ? p : [p.name, p.description].filter(Boolean).join(": "))).join("; ");
          return {
            id: `workflow:${w.name}`,
            kind: "workflow" as const,
            owner: null,
            title: String(w.name),
            body: [String(w.description ?? ""), `Workflow type: ${w.type}.`, paramText ? `Parameters: ${paramText}` : ""].filter(Boolean).join("\n"),
            path: `/workflows/${encodeURIComponent(String(w.name))}`,
            meta: toJson({ type: w.type }),
            version: String(Number(w.updated_at)),
            indexed_at: now,
          };
        }),
      );
      if (stale.length < SYNC_BATCH) break;
    }
    await knex.raw(
      `DELETE FROM search_entries WHERE kind = 'workflow' AND NOT EXISTS (
         SELECT 1 FROM workflow_templates w WHERE w.name = substr(search_entries.id, 10))`,
    );
  }

  /** Indexes the tasks `scope` may see (one owner's, or all for an admin); false when a backlog remains for next time. */
  async function syncTasks(scope: SearchScope): Promise<boolean> {
    let complete = false;
    for (let round = 0; round < 20; round++) {
      let q = knex("tasks as t")
        .leftJoin("search_entries as e", "e.id", knex.raw("? || t.id", ["task:"]))
        .where((w) => w.whereNull("e.id").orWhereRaw("e.version <> CAST(t.updated_at AS TEXT)"))
        .select("t.id", "t.kind", "t.state", "t.owner", "t.input", "t.output", "t.error", "t.agent_id", "t.capabilities", "t.updated_at", "t.created_at")
        .limit(SYNC_BATCH);
      if (scope.owner !== null) q = q.where("t.owner", scope.owner);
      const stale = await q;
      if (stale.length === 0) {
        complete = true;
        break;
      }
      const now = clock.now();
      await upsert(
        stale.map((t: Record<string, unknown>) => {
          const input = String(t.input ?? "");
          const output = String(t.output ?? "").slice(0, TASK_TEXT_LIMIT);
          const firstLine = input.split("\n").find((l) => l.trim())?.trim() ?? "";
          const label = t.kind === "workflow" ? "Workflow" : "Task";
          return {
            id: `task:${t.id}`,
            kind: "task" as const,
            owner: String(t.owner),
            title: `${label}: ${firstLine.length > 80 ? `${firstLine.slice(0, 79)}…` : firstLine || t.id}`,
            body: [input.slice(0, TASK_TEXT_LIMIT), output, t.error ? `Error: ${t.error}` : "", `State: ${t.state}.`, t.agent_id ? `Agent: ${t.agent_id}` : ""]
              .filter(Boolean)
              .join("\n"),
            path: `/tasks/${encodeURIComponent(String(t.id))}`,
            meta: toJson({ state: t.state, kind: t.kind, agent_id: t.agent_id ?? null }),
            version: String(Number(t.updated_at)),
            indexed_at: now,
          };
        }),
      );
      if (stale.length < SYNC_BATCH) {
        complete = true;
        break;
      }
    }
    const ownerClause = scope.owner !== null ? "AND owner = ?" : "";
    await knex.raw(
      `DELETE FROM search_entries WHERE kind = 'task' ${ownerClause} AND NOT EXISTS (
         SELECT 1 FROM tasks t WHERE t.id = substr(search_entries.id, 6))`,
      scope.owner !== null ? [scope.owner] : [],
    );
    return complete;
  }

  /**
   * A cheap summary of a source table (row count and the count, max and sum of
   * updated_at): any insert, update, enable/disable or delete changes it, so the
   * full diff runs only when something did change, on whichever replica.
   */
  const seen = new Map<string, string>();
  async function changed(key: string, query: Knex.QueryBuilder, fn: () => Promise<boolean | void>): Promise<void> {
    const row = (await query.select(knex.raw("count(*) AS n, max(updated_at) AS hi, sum(updated_at) AS total")).first()) as Record<string, unknown> | undefined;
    const stamp = `${row?.n}:${row?.hi}:${row?.total}`;
    if (seen.get(key) === stamp) return;
    if ((await fn()) === false) return;
    if (seen.size > 10_000) seen.clear();
    seen.set(key, stamp);
  }

  async function sync(kinds: EntryKind[], scope: SearchScope): Promise<void> {
    if (kinds.includes("doc")) await refreshDocs();
    if (kinds.includes("agent")) await changed("agent", knex("agents").where("enabled", true), syncAgents);
    if (kinds.includes("workflow")) await changed("workflow", knex("workflow_templates"), syncWorkflows);
    if (kinds.includes("task")) {
      const tasks = scope.owner === null ? knex("tasks") : knex("tasks").where("owner", scope.owner);
      await changed(`task:${scope.owner ?? "*"}`, tasks, () => syncTasks(scope));
    }
  }

  // ---- querying ---------------------------------------------------------------

  async function runQuery(q: ParsedQuery, kinds: EntryKind[], scope: SearchScope, limit: number): Promise<SearchHit[]> {
    const filters: string[] = [];
    const params: Array<string | number> = [];
    filters.push(`e.kind IN (${kinds.map(() => "?").join(", ")})`);
    params.push(...kinds);
    if (scope.owner !== null) {
      filters.push("(e.kind <> 'task' OR e.owner = ?)");
      params.push(scope.owner);
    }
    let rows: Array<{ id: string; kind: EntryKind; title: string; path: string; score: number; snip: string | null }>;
    if (pg) {
      const res = await knex.raw(
        `WITH q AS (SELECT websearch_to_tsquery('english', ?) AS query),
         top AS (
           SELECT e.id, e.kind, e.title, e.path, e.body, ts_rank(e.tsv, q.query) AS score
           FROM search_entries e, q
           WHERE e.tsv @@ q.query AND ${filters.join(" AND ")}
           ORDER BY score DESC, e.id ASC
           LIMIT ?)
         SELECT top.id, top.kind, top.title, top.path, top.score,
           ts_headline('english', top.body, q.query, 'StartSel=**, StopSel=**, MaxWords=30, MinWords=12, MaxFragments=2, FragmentDelimiter=" … "') AS snip
         FROM top, q ORDER BY top.score DESC, top.id ASC`,
        [toWebsearch(q), ...params, limit],
      );
      rows = res.rows;
    } else {
      // CROSS JOIN keeps the FTS match as the outer loop: SQLite would otherwise walk the entries by
      // kind and run the full-text match once per row (seconds instead of milliseconds at 10k agents).
      rows = await knex.raw(
        `SELECT e.id, e.kind, e.title, e.path, -bm25(search_fts, 10.0, 1.0) AS score,
           snippet(search_fts, 1, '**', '**', ' … ', 24) AS snip
         FROM search_fts CROSS JOIN search_entries e ON e.seq = search_fts.rowid
         WHERE search_fts MATCH ? AND ${filters.join(" AND ")}
         ORDER BY bm25(search_fts, 10.0, 1.0) ASC, e.id ASC
         LIMIT ?`,
        [toFts5(q), ...params, limit],
      );
    }
    return rows.map((r) => ({
      id: r.id,
      kind: r.kind,
      title: r.title,
      url: urlOf(r.path),
      snippet: cleanSnippet(r.snip ?? ""),
      score: Number(r.score),
    }));
  }

  /** Full-text search; strict (every word) first, then any word when nothing matched. */
  async function search(input: { query: string; type?: string; limit?: number }, scope: SearchScope): Promise<SearchHit[]> {
    const query = input.query.trim();
    if (!query) throw invalid("query", "is required");
    if (query.length > 1000) throw invalid("query", "must be at most 1000 characters");
    const given = (input.type || "all").toLowerCase();
    // "agent", "doc", ... are accepted for "agents", "docs", ...
    const type = (SEARCH_TYPES as readonly string[]).includes(`${given}s`) ? `${given}s` : given;
    if (!(SEARCH_TYPES as readonly string[]).includes(type)) throw invalid("type", `must be one of ${SEARCH_TYPES.join(", ")}`);
    const limit = input.limit ?? 0;
    if (!Number.isInteger(limit) || limit < 0 || limit > 50) throw invalid("limit", "must be between 1 and 50");
    const kinds: EntryKind[] = type === "all" ? ["agent", "doc", "workflow", "task"] : [KIND_OF_TYPE[type as Exclude<SearchType, "all">]];
    const parsed = parseQuery(query);
    if (parsed.groups.length === 0) return [];
    await sync(kinds, scope);
    const n = limit || 10;
    const strict = await runQuery(parsed, kinds, scope, n);
    if (strict.length > 0) return strict;
    const single = parsed.groups.length === 1 && parsed.groups[0]!.terms.length + parsed.groups[0]!.phrases.length <= 1;
    return single ? [] : runQuery(loosen(parsed), kinds, scope, n);
  }

  // ---- fetching ---------------------------------------------------------------

  async function fetchDoc(slug: string, section?: string): Promise<FetchedItem> {
    await refreshDocs();
    const doc = docs.find((d) => d.slug === slug);
    if (!doc) throw new ConnectError(`doc ${slug} not found`, Code.NotFound);
    if (section) {
      const s = doc.sections.find((x) => x.anchor === section);
      if (!s) throw new ConnectError(`doc ${slug} has no section ${JSON.stringify(section)}`, Code.NotFound);
      return {
        id: `doc:${slug}#${section}`,
        title: `${doc.title}: ${s.heading}`,
        text: s.markdown,
        url: urlOf(`/docs/${slug}#${section}`),
        metadata: { type: "doc", slug, section, heading: s.heading, doc_title: doc.title, format: "markdown" },
      };
    }
    return {
      id: `doc:${slug}`,
      title: doc.title,
      text: doc.markdown,
      url: urlOf(`/docs/${slug}`),
      metadata: {
        type: "doc",
        slug,
        format: "markdown",
        sections: doc.sections.filter((s) => s.anchor).map((s) => ({ id: `doc:${slug}#${s.anchor}`, heading: s.heading })),
      },
    };
  }

  async function fetchAgent(id: string): Promise<FetchedItem> {
    const a = await knex("agents").where({ id }).first();
    if (!a) throw new ConnectError(`agent ${id} not found`, Code.NotFound);
    const caps = fromJson<string[]>(a.capabilities, []);
    const tags = fromJson<string[]>(a.tags, []);
    const total = Number(a.success_count ?? 0) + Number(a.failure_count ?? 0);
    const successRate = total === 0 ? null : Number(a.success_count) / total;
    const enabled = a.enabled === true || a.enabled === 1;
    const text = [
      `${a.name} (agent id ${a.id})`,
      "",
      String(a.description || "No description."),
      "",
      `Capabilities: ${caps.join(", ") || "none"}`,
      `Framework: ${a.framework || "unspecified"}`,
      `Protocol: ${a.protocol}${a.endpoint ? ` at ${a.endpoint}` : " (runs inside MeshAI)"}`,
      tags.length ? `Tags: ${tags.join(", ")}` : "",
      `Health: ${a.health}${a.health_detail ? ` (${a.health_detail})` : ""}`,
      `Enabled: ${enabled ? "yes" : "no"}; at most ${a.max_concurrent_tasks} concurrent tasks`,
      total ? `Recent stats: ${total} tasks, ${(successRate! * 100).toFixed(1)}% succeeded, average latency ${Math.round(Number(a.avg_latency_ms))} ms` : "No tasks run yet.",
      "",
      `Run a task on it: mesh_execute with agents: ["${a.id}"], or any task needing ${caps.map((c) => `"${c}"`).join(" or ")}.`,
    ]
      .filter((l) => l !== undefined)
      .join("\n")
      .replace(/\n{3,}/g, "\n\n");
    return {
      id: `agent:${a.id}`,
      title: String(a.name),
      text,
      url: urlOf(`/agents/${encodeURIComponent(String(a.id))}`),
      metadata: {
        type: "agent",
        framework: a.framework,
        capabilities: caps,
        protocol: a.protocol,
        tags,
        health: a.health,
        enabled,
        max_concurrent_tasks: Number(a.max_concurrent_tasks),
        success_rate: successRate,
        avg_latency_ms: Number(a.avg_latency_ms ?? 0),
      },
    };
  }

  async function fetchWorkflow(name: string): Promise<FetchedItem> {
    const w = await knex("workflow_templates").where({ name }).first();
    if (!w) throw new ConnectError(`workflow ${name} not found`, Code.NotFound);
    const definition = fromJson<unknown>(w.definition, {});
    const parameters = fromJson<unknown>(w.parameters, []);
    return {
      id: `workflow:${w.name}`,
      title: String(w.name),
      text: [String(w.description || "No description."), "", `Type: ${w.type}`, `Parameters: ${JSON.stringify(parameters, null, 2)}`, `Definition: ${JSON.stringify(definition, null, 2)}`].join("\n"),
      url: urlOf(`/workflows/${encodeURIComponent(String(w.name))}`),
      metadata: { type: "workflow", workflow_type: w.type, parameters: parameters as unknown, created_by: w.created_by ?? null },
    };
  }

  async function fetchTask(id: string, scope: SearchScope): Promise<FetchedItem> {
    const t = await knex("tasks").where({ id }).first();
    // Another user's task is reported as missing, not as forbidden: ids do not leak.
    if (!t || (scope.owner !== null && t.owner !== scope.owner)) throw new ConnectError(`task ${id} not found`, Code.NotFound);
    const text = [
      `${t.kind === "workflow" ? "Workflow" : "Task"} ${t.id}: ${t.state}`,
      "",
      `Input: ${t.input}`,
      t.agent_id ? `Agent: ${t.agent_id}` : "",
      t.output ? `\nOutput:\n${t.output}` : "",
      t.error ? `\nError: ${t.error}` : "",
    ]
      .filter(Boolean)
      .join("\n");
    return {
      id: `task:${t.id}`,
      title: `${t.kind === "workflow" ? "Workflow" : "Task"} ${t.id}`,
      text,
      url: urlOf(`/tasks/${encodeURIComponent(String(t.id))}`),
      metadata: {
        type: "task",
        kind: t.kind,
        state: t.state,
        owner: t.owner,
        agent_id: t.agent_id ?? null,
        capabilities: fromJson<string[]>(t.capabilities, []),
        result: fromJson<unknown>(t.result, null),
        created_at: new Date(Number(t.created_at)).toISOString(),
        updated_at: new Date(Number(t.updated_at)).toISOString(),
        ended_at: t.ended_at === null || t.ended_at === undefined ? null : new Date(Number(t.ended_at)).toISOString(),
      },
    };
  }

  async function fetch(id: string, scope: SearchScope): Promise<FetchedItem> {
    if (!id.trim()) throw invalid("id", "is required");
    const parsed = parseTypedId(id);
    switch (parsed.kind) {
      case "doc":
        return fetchDoc(parsed.key, parsed.section);
      case "agent":
        return fetchAgent(parsed.key);
      case "workflow":
        return fetchWorkflow(parsed.key);
      case "task":
        return fetchTask(parsed.key, scope);
    }
  }

  const docsSearch: DocsSearch = {
    async searchDocs(query: string, limit: number): Promise<DocPassage[]> {
      const parsed = parseQuery(query);
      if (parsed.groups.length === 0) return [];
      await refreshDocs();
      let hits = await runQuery(parsed, ["doc"], { owner: null }, limit);
      if (hits.length === 0) hits = await runQuery(loosen(parsed), ["doc"], { owner: null }, limit);
      if (hits.length === 0) return [];
      const bodies = new Map<string, string>(
        (await knex("search_entries").whereIn("id", hits.map((h) => h.id)).select("id", "body")).map((r: { id: string; body: string }) => [r.id, r.body]),
      );
      return hits.map((h) => ({ id: h.id, title: h.title, url: h.url, text: bodies.get(h.id) ?? "", score: h.score }));
    },
  };

  return {
    search,
    fetch,
    searchDocs: docsSearch.searchDocs,
    /** Reads docs/ and indexes it (at start; later edits are picked up on read). */
    indexDocs: () => refreshDocs(true),
    /** One doc by slug, for the docs pages. */
    async getDoc(slug: string): Promise<Doc> {
      if (!DOC_SLUG.test(slug)) throw invalid("slug", "must be lower-case letters, digits, '-' and '_'");
      await refreshDocs();
      const doc = docs.find((d) => d.slug === slug);
      if (!doc) throw new ConnectError(`doc ${slug} not found`, Code.NotFound);
      return doc;
    },
    async listDocs(): Promise<Doc[]> {
      await refreshDocs();
      return docs;
    },
    urlOf,
  };
}

/** Snippets as one readable line: Markdown syntax and runs of whitespace removed. */
function cleanSnippet(s: string): string {
  return s
    .replace(/^#{1,6}\s+/gm, "")
    .replace(/```\w*/g, "")
    .replace(/\s+/g, " ")
    .trim()
    .slice(0, 400);
}

export type SearchIndex = ReturnType<typeof createSearchIndex>;

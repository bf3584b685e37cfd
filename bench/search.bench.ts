/**
 * Search over a registry of 10,000 agents plus the docs: how long the first
 * search takes to index them, and the latency of later searches (each one
 * re-checks the sources for changes before querying), on SQLite and, when
 * MESHAI_TEST_POSTGRES_URL is set, on a fresh PostgreSQL database.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { randomBytes } from "node:crypto";
import { createSearchIndex } from "../src/core/mesh/search.js";
import { openDatabase, type Database } from "../src/core/store/db.js";
import { measure, report } from "./stats.js";

const AGENTS = 10_000;
const WORDS = "summarize translate classify forecast vision speech review legal medical finance retail weather travel music chemistry".split(" ");

async function seed(db: Database): Promise<void> {
  const now = Date.now();
  for (let i = 0; i < AGENTS; i += 500) {
    const rows = Array.from({ length: Math.min(500, AGENTS - i) }, (_, j) => {
      const n = i + j;
      return {
        id: `agent-${n}`,
        name: `${WORDS[n % WORDS.length]} agent ${n}`,
        description: `Handles ${WORDS[(n * 7) % WORDS.length]} and ${WORDS[(n * 3) % WORDS.length]} requests for team ${n % 97}.`,
        framework: ["langchain", "crewai", "autogen"][n % 3],
        capabilities: JSON.stringify(["text_generation"]),
        protocol: "openai",
        endpoint: "http://127.0.0.1:9/v1",
        tags: "[]",
        config: "{}",
        enabled: true,
        created_at: now,
        updated_at: now,
      };
    });
    await db.knex("agents").insert(rows);
  }
}

async function bench(name: string, db: Database): Promise<void> {
  await db.migrate();
  await seed(db);
  const search = createSearchIndex({ knex: db.knex, issuer: "http://localhost:8080", clock: { now: () => Date.now() } });
  const t0 = performance.now();
  await search.indexDocs();
  await search.search({ query: "forecast", type: "agents" }, { owner: "bench" });
  console.log(`${`${name}: first search, indexing ${AGENTS} agents`.padEnd(48)} ${(performance.now() - t0).toFixed(0).padStart(8)} ms`);
  const queries = ["forecast finance", "legal review", "chemistry", "circuit breaker", "weather agent 42"];
  let i = 0;
  report(`${name}: search all types (10k agents + docs)`, await measure(() => search.search({ query: queries[i++ % queries.length]!, type: "all" }, { owner: "bench" }), 200, 4));
  report(`${name}: search docs only`, await measure(() => search.search({ query: queries[i++ % queries.length]!, type: "docs" }, { owner: "bench" }), 200, 4));
}

export async function run(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "meshai-bench-search-"));
  const sqlite = openDatabase({ databaseUrl: "", sqliteFile: path.join(dir, "bench.sqlite") });
  try {
    await bench("sqlite", sqlite);
  } finally {
    await sqlite.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const url = process.env.MESHAI_TEST_POSTGRES_URL;
  if (!url) return;
  const name = `meshai_bench_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const target = new URL(url);
  target.pathname = `/${name}`;
  const db = openDatabase({ databaseUrl: target.toString(), sqliteFile: "" });
  try {
    await bench("postgres", db);
  } finally {
    await db.close();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

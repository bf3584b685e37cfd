import type { Knex } from "knex";

/** True on PostgreSQL, false on SQLite. */
export function isPostgres(knex: Knex): boolean {
  const client = (knex.client as { config?: { client?: unknown } }).config?.client;
  return client === "pg" || client === "postgres" || client === "postgresql";
}

/**
 * "0004_search": the full-text index behind Search. One row per searchable
 * thing (an agent, a doc section, a workflow template, a task) in
 * `search_entries`; SQLite indexes it with an FTS5 external-content table kept
 * in step by triggers, PostgreSQL with a generated, weighted tsvector column
 * under a GIN index. Titles weigh more than bodies on both.
 */
export const searchMigration = {
  name: "0004_search",
  async up(knex: Knex): Promise<void> {
    await knex.schema.createTable("search_entries", (t) => {
      t.increments("seq"); // SQLite: the rowid FTS5 refers to
      t.string("id", 400).notNullable().unique(); // typed id: agent:..., doc:..., workflow:..., task:...
      t.string("kind", 16).notNullable(); // agent | doc | workflow | task
      t.string("owner", 64); // tasks: the owning subject
      t.text("title").notNullable();
      t.text("body").notNullable();
      t.text("path").notNullable(); // URL path under the issuer
      t.text("meta").notNullable().defaultTo("{}"); // JSON
      t.string("version", 128).notNullable(); // source updated_at or content hash
      t.bigInteger("indexed_at").notNullable();
      t.index(["kind"]);
      t.index(["owner"]);
    });
    if (isPostgres(knex)) {
      // Punctuation becomes space first, so "builtin.security-scanner" or "/docs/routing" index as
      // separate words the way FTS5's unicode61 tokenizer splits them (PostgreSQL's parser would keep
      // host names and paths whole), and both back ends match the same words.
      await knex.raw(
        `ALTER TABLE search_entries ADD COLUMN tsv tsvector GENERATED ALWAYS AS (
           setweight(to_tsvector('english', regexp_replace(coalesce(title, ''), '[[:punct:]]+', ' ', 'g')), 'A') ||
           setweight(to_tsvector('english', regexp_replace(coalesce(body, ''), '[[:punct:]]+', ' ', 'g')), 'B')) STORED`,
      );
      await knex.raw("CREATE INDEX search_entries_tsv ON search_entries USING GIN (tsv)");
    } else {
      await knex.raw(
        "CREATE VIRTUAL TABLE search_fts USING fts5(title, body, content='search_entries', content_rowid='seq', tokenize='porter unicode61')",
      );
      await knex.raw(
        `CREATE TRIGGER search_entries_ai AFTER INSERT ON search_entries BEGIN
           INSERT INTO search_fts(rowid, title, body) VALUES (new.seq, new.title, new.body);
         END`,
      );
      await knex.raw(
        `CREATE TRIGGER search_entries_ad AFTER DELETE ON search_entries BEGIN
           INSERT INTO search_fts(search_fts, rowid, title, body) VALUES ('delete', old.seq, old.title, old.body);
         END`,
      );
      await knex.raw(
        `CREATE TRIGGER search_entries_au AFTER UPDATE ON search_entries BEGIN
           INSERT INTO search_fts(search_fts, rowid, title, body) VALUES ('delete', old.seq, old.title, old.body);
           INSERT INTO search_fts(rowid, title, body) VALUES (new.seq, new.title, new.body);
         END`,
      );
    }
  },
  async down(knex: Knex): Promise<void> {
    if (!isPostgres(knex)) {
      await knex.raw("DROP TABLE IF EXISTS search_fts");
    }
    await knex.schema.dropTableIfExists("search_entries");
  },
};

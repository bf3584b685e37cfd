import fs from "node:fs";
import path from "node:path";
import knexFactory, { type Knex } from "knex";
import pg from "pg";
import { migrationSource } from "./migrations.js";

// Epoch-millisecond columns are int8: read them as numbers, not strings.
pg.types.setTypeParser(pg.types.builtins.INT8, (value: string) => Number(value));

export type Dialect = "sqlite" | "postgres";

export interface Database {
  knex: Knex;
  dialect: Dialect;
  /** Brings the schema up to date; safe to call on every start. */
  migrate(): Promise<string[]>;
  /** True when a trivial query answers. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** `postgres://...`; empty for SQLite. */
  databaseUrl: string;
  /** The SQLite file, used when databaseUrl is empty. */
  sqliteFile: string;
}

/**
 * Opens the embedded SQLite file or a PostgreSQL pool. SQLite runs in WAL mode
 * with foreign keys on, through one connection so writers never see SQLITE_BUSY.
 */
export function openDatabase(options: DatabaseOptions): Database {
  const dialect: Dialect = options.databaseUrl ? "postgres" : "sqlite";
  let knex: Knex;
  if (dialect === "postgres") {
    knex = knexFactory({
      client: "pg",
      connection: options.databaseUrl,
      pool: { min: 0, max: 10 },
    });
  } else {
    if (options.sqliteFile !== ":memory:") {
      fs.mkdirSync(path.dirname(options.sqliteFile), { recursive: true });
    }
    knex = knexFactory({
      client: "sqlite3",
      connection: { filename: options.sqliteFile },
      useNullAsDefault: true,
      pool: {
        min: 1,
        max: 1,
        afterCreate(conn: { run(sql: string, cb: (err: Error | null) => void): void }, done: (err: Error | null, conn: unknown) => void) {
          conn.run("PRAGMA foreign_keys = ON", (e1) => {
            if (e1) return done(e1, conn);
            conn.run("PRAGMA journal_mode = WAL", (e2) => {
              if (e2) return done(e2, conn);
              conn.run("PRAGMA busy_timeout = 5000", (e3) => done(e3, conn));
            });
          });
        },
      },
    });
  }

  return {
    knex,
    dialect,
    async migrate() {
      // Processes starting together on a fresh database (replicas, CLI commands) race to
      // create knex's own bookkeeping tables before its migration lock exists; the loser
      // sees "already exists" (or a busy/locked error) and simply tries again.
      for (let attempt = 1; ; attempt++) {
        try {
          const [, applied] = (await knex.migrate.latest({ migrationSource })) as [number, string[]];
          return applied;
        } catch (e) {
          const message = e instanceof Error ? e.message : String(e);
          const race = /already exists|duplicate key|SQLITE_BUSY|database is locked|Migration table is already locked/i.test(message);
          if (!race || attempt >= 10) throw e;
          await new Promise((resolve) => setTimeout(resolve, 50 * attempt + Math.random() * 100));
        }
      }
    },
    async ping() {
      try {
        await knex.raw("select 1");
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      await knex.destroy();
    },
  };
}

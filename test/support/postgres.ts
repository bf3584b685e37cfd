import { randomBytes } from "node:crypto";
import pg from "pg";

/** The PostgreSQL server tests may use (CI starts one with `.ci/postgres.sh`). */
export function postgresUrl(): string | undefined {
  return process.env.MESHAI_TEST_POSTGRES_URL || undefined;
}

export interface DatabaseTarget {
  name: "sqlite" | "postgres";
  url?: string;
}

/**
 * The databases a storage test runs on: always SQLite, and PostgreSQL when
 * MESHAI_TEST_POSTGRES_URL is set. In CI PostgreSQL is required, so a missing
 * URL fails the suite instead of silently testing less.
 */
export function databaseTargets(): DatabaseTarget[] {
  const url = postgresUrl();
  if (!url && process.env.CI === "true") {
    throw new Error("CI=true but MESHAI_TEST_POSTGRES_URL is not set: .ci/run must start PostgreSQL (.ci/postgres.sh)");
  }
  return url ? [{ name: "sqlite" }, { name: "postgres", url }] : [{ name: "sqlite" }];
}

/** A new, empty database on the server behind `url`, for one test file; drop() removes it. */
export async function freshPostgresDatabase(url: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `meshai_t_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const fresh = new URL(url);
  fresh.pathname = `/${name}`;
  return {
    url: fresh.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

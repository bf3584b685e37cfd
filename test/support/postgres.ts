// Which databases the suite runs against, and throwaway PostgreSQL databases for test files.
//
// Locally: `eval "$(bash .ci/postgres.sh)"` starts a loopback cluster and exports
// MESHAI_TEST_POSTGRES_URL; without it only SQLite runs. In CI (CI=true) the URL is mandatory,
// so a missing PostgreSQL fails the suite instead of silently skipping half of it.
import { randomBytes } from "node:crypto";
import pg from "pg";

export const POSTGRES_URL_ENV = "MESHAI_TEST_POSTGRES_URL";

/** The base PostgreSQL URL for tests, or undefined when PostgreSQL tests are not configured. */
export function postgresUrl(): string | undefined {
  const url = process.env[POSTGRES_URL_ENV]?.trim();
  return url ? url : undefined;
}

export type DatabaseTarget = { name: "sqlite"; url?: undefined } | { name: "postgres"; url: string };

/**
 * SQLite always; PostgreSQL when MESHAI_TEST_POSTGRES_URL is set.
 * Throws when CI=true and the URL is missing. Use with `describe.each(databaseTargets())`.
 */
export function databaseTargets(): DatabaseTarget[] {
  const url = postgresUrl();
  if (!url && process.env.CI === "true") {
    throw new Error(
      `CI=true but ${POSTGRES_URL_ENV} is not set: the suite must run on PostgreSQL too. ` +
        `Start one with: eval "$(bash .ci/postgres.sh)"`,
    );
  }
  return url ? [{ name: "sqlite" }, { name: "postgres", url }] : [{ name: "sqlite" }];
}

export interface FreshPostgresDatabase {
  /** Connection URL of the new, empty database (same credentials as the base URL). */
  url: string;
  /** The database name. */
  name: string;
  /** Drops the database, disconnecting anyone still using it. Safe to call twice. */
  drop(): Promise<void>;
}

async function adminQuery(baseUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: baseUrl });
  client.on("error", () => {}); // a dropped admin connection must not become an unhandled error
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/**
 * Creates a uniquely named, empty database on the server of `baseUrl` (whose role needs
 * CREATEDB, as .ci/postgres.sh grants), so each test file gets its own isolated database.
 *
 *   const db = await freshPostgresDatabase(target.url);   // beforeAll
 *   ... MESHAI_DATABASE_URL = db.url ...
 *   await db.drop();                                      // afterAll
 */
export async function freshPostgresDatabase(baseUrl: string = requiredPostgresUrl()): Promise<FreshPostgresDatabase> {
  const name = `meshai_t_${process.pid}_${Date.now().toString(36)}_${randomBytes(4).toString("hex")}`;
  await adminQuery(baseUrl, `CREATE DATABASE "${name}"`);
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    url: url.toString(),
    name,
    async drop() {
      if (dropped) return;
      dropped = true;
      await adminQuery(baseUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}

/** Alias kept for callers that know it by this name. */
export const freshPostgresSchemaUrl = freshPostgresDatabase;

function requiredPostgresUrl(): string {
  const url = postgresUrl();
  if (!url) throw new Error(`${POSTGRES_URL_ENV} is not set (eval "$(bash .ci/postgres.sh)")`);
  return url;
}

import type { Knex } from "knex";

/** A counter that moves whenever this process may have changed one of the watched tables. */
export interface WriteWatch {
  readonly version: number;
}

const READ_ONLY = /^\s*(select|pragma|explain|show)\b/i;
const TRANSACTION_END = /^\s*(commit|rollback|release)\b/i;

/**
 * Lets an in-memory cache over some tables notice this process's writes to
 * them, whichever repository, transaction or raw query made them: knex
 * reports every statement (transactions' too) as a `query` event before it
 * runs and a `query-response` event after, and both bump `version`, as does
 * the end of a transaction that wrote a watched table. A cache reads
 * `version` before loading and keeps what it loaded only if `version` is the
 * same after, and drops what it holds when `version` moved, so a write made
 * here is seen by the next read. Writes by other processes are not seen:
 * caches built on this also expire on their own (one second in the core).
 */
export function watchWrites(knex: Knex, tables: string[]): WriteWatch {
  const names = new RegExp(`\\b(${tables.map((t) => t.replace(/[^a-z0-9_]/gi, "")).join("|")})\\b`, "i");
  const writingTransactions = new Set<unknown>();
  let version = 0;
  const onStatement = (q: { sql?: unknown; __knexTxId?: unknown }) => {
    const sql = typeof q?.sql === "string" ? q.sql : "";
    if (READ_ONLY.test(sql)) return;
    if (TRANSACTION_END.test(sql)) {
      if (writingTransactions.delete(q.__knexTxId)) version++;
      return;
    }
    if (!names.test(sql)) return;
    version++;
    if (q.__knexTxId !== undefined) writingTransactions.add(q.__knexTxId);
  };
  knex.on("query", onStatement);
  knex.on("query-response", (_res: unknown, q: { sql?: unknown; __knexTxId?: unknown }) => onStatement(q));
  return {
    get version() {
      return version;
    },
  };
}

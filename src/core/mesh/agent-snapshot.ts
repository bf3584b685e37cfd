import type { Knex } from "knex";
import type { AgentRecord, AgentRepository } from "../store/agents.js";

/**
 * The registry as the router sees it, kept in memory so a routing decision
 * over thousands of agents costs one cheap aggregate query, not a full table
 * read: the snapshot is reloaded only when the agents table has changed
 * (a row added, removed, edited or health-checked).
 */
export function createAgentSnapshot(knex: Knex, agents: AgentRepository) {
  let version = "";
  let rows: AgentRecord[] = [];
  let byId = new Map<string, AgentRecord>();
  let loading: Promise<void> | undefined;

  async function currentVersion(): Promise<string> {
    const row = await knex("agents")
      .first(
        knex.raw("count(*) as n"),
        knex.raw("max(updated_at) as u"),
        knex.raw("max(coalesce(last_health_check_at, 0)) as h"),
        knex.raw("sum(success_count + failure_count) as t"),
      );
    return `${row?.n}:${row?.u}:${row?.h}:${row?.t}`;
  }

  return {
    async get(): Promise<{ agents: AgentRecord[]; byId: Map<string, AgentRecord> }> {
      const v = await currentVersion();
      if (v !== version) {
        loading ??= (async () => {
          const fresh = await agents.list({ includeDisabled: true });
          rows = fresh;
          byId = new Map(fresh.map((a) => [a.id, a]));
          version = v;
        })().finally(() => {
          loading = undefined;
        });
        await loading;
      }
      return { agents: rows, byId };
    },
  };
}

export type AgentSnapshot = ReturnType<typeof createAgentSnapshot>;

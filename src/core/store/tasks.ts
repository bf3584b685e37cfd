import type { Knex } from "knex";
import { fromJson, toJson, toNumberOrNull } from "./rows.js";

/** pending | routing | executing | completed | failed | cancelled, as MeshAI's public model names them. */
export type TaskStateName = "pending" | "routing" | "executing" | "completed" | "failed" | "cancelled";

export const ACTIVE_STATES: TaskStateName[] = ["pending", "routing", "executing"];
export const TERMINAL_STATES: TaskStateName[] = ["completed", "failed", "cancelled"];

export function isTerminal(state: string): boolean {
  return (TERMINAL_STATES as string[]).includes(state);
}

export interface TaskRecord {
  id: string;
  /** task | workflow */
  kind: string;
  state: TaskStateName;
  /** The subject that owns it. */
  owner: string;
  input: string;
  /** What was asked, as JSON, so a task can be explained or resumed. */
  request: Record<string, unknown>;
  capabilities: string[];
  agentId: string | null;
  output: string;
  result: Record<string, unknown> | null;
  error: string;
  lastSeq: number;
  parentId: string | null;
  idempotencyKey: string | null;
  createdAt: number;
  updatedAt: number;
  endedAt: number | null;
  /** The process running it; with heartbeatAt, how a dead runner is told from a live one. */
  runnerId: string | null;
  heartbeatAt: number | null;
}

/** One stored task event: `event` is the JSON form of meshai.v1.TaskEvent. */
export interface StoredTaskEvent {
  taskId: string;
  seq: number;
  type: string;
  event: string;
  createdAt: number;
}

/** The fields an event may change on its task, written in the same transaction. */
export interface TaskPatch {
  state?: TaskStateName;
  agentId?: string | null;
  output?: string;
  result?: Record<string, unknown> | null;
  error?: string;
  endedAt?: number | null;
  capabilities?: string[];
}

/** Thrown by appendEvent when the task has already ended (e.g. cancelled by another replica). */
export class TaskEndedError extends Error {
  constructor(readonly taskId: string, readonly state: string) {
    super(`task ${taskId} has already ended (${state})`);
    this.name = "TaskEndedError";
  }
}

function fromRow(row: Record<string, unknown>): TaskRecord {
  return {
    id: String(row.id),
    kind: String(row.kind),
    state: String(row.state) as TaskStateName,
    owner: String(row.owner),
    input: String(row.input),
    request: fromJson<Record<string, unknown>>(row.request, {}),
    capabilities: fromJson<string[]>(row.capabilities, []),
    agentId: row.agent_id == null ? null : String(row.agent_id),
    output: String(row.output ?? ""),
    result: fromJson<Record<string, unknown> | null>(row.result, null),
    error: String(row.error ?? ""),
    lastSeq: Number(row.last_seq ?? 0),
    parentId: row.parent_id == null ? null : String(row.parent_id),
    idempotencyKey: row.idempotency_key == null ? null : String(row.idempotency_key),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    endedAt: toNumberOrNull(row.ended_at),
    runnerId: row.runner_id == null ? null : String(row.runner_id),
    heartbeatAt: toNumberOrNull(row.heartbeat_at),
  };
}

function patchColumns(p: TaskPatch): Record<string, unknown> {
  const cols: Record<string, unknown> = {};
  if (p.state !== undefined) cols.state = p.state;
  if (p.agentId !== undefined) cols.agent_id = p.agentId;
  if (p.output !== undefined) cols.output = p.output;
  if (p.result !== undefined) cols.result = p.result === null ? null : toJson(p.result);
  if (p.error !== undefined) cols.error = p.error;
  if (p.endedAt !== undefined) cols.ended_at = p.endedAt;
  if (p.capabilities !== undefined) cols.capabilities = toJson(p.capabilities);
  return cols;
}

export interface TaskListFilter {
  /** Only this owner's tasks; undefined lists everyone's. */
  owner?: string;
  kind?: string;
  state?: string;
  /** Only the steps of this workflow, oldest first. */
  parentId?: string;
  /** Only tasks routed to this agent. */
  agentId?: string;
  offset: number;
  limit: number;
}

/**
 * The tasks and task_events tables. Every event is appended in one transaction
 * that bumps tasks.last_seq and inserts the event under that number, so the
 * per-task sequence has no gaps or duplicates on SQLite and PostgreSQL alike
 * (PostgreSQL: the UPDATE's row lock serialises concurrent appenders).
 */
export function createTaskRepository(knex: Knex) {
  return {
    async insert(task: TaskRecord): Promise<void> {
      await knex("tasks").insert({
        id: task.id,
        kind: task.kind,
        state: task.state,
        owner: task.owner,
        input: task.input,
        request: toJson(task.request),
        capabilities: toJson(task.capabilities),
        agent_id: task.agentId,
        output: task.output,
        result: task.result === null ? null : toJson(task.result),
        error: task.error,
        last_seq: task.lastSeq,
        parent_id: task.parentId,
        idempotency_key: task.idempotencyKey,
        created_at: task.createdAt,
        updated_at: task.updatedAt,
        ended_at: task.endedAt,
        runner_id: task.runnerId,
        heartbeat_at: task.heartbeatAt,
      });
    },

    async byId(id: string): Promise<TaskRecord | undefined> {
      const row = await knex("tasks").where({ id }).first();
      return row ? fromRow(row) : undefined;
    },

    async byIdempotencyKey(owner: string, key: string): Promise<TaskRecord | undefined> {
      const row = await knex("tasks").where({ owner, idempotency_key: key }).first();
      return row ? fromRow(row) : undefined;
    },

    /** Newest first (a workflow's steps: oldest first); one extra row tells the caller whether another page exists. */
    async list(filter: TaskListFilter): Promise<TaskRecord[]> {
      const order = filter.parentId ? "asc" : "desc";
      let q = knex("tasks").orderBy("created_at", order).orderBy("id", order);
      if (filter.parentId) q = q.where({ parent_id: filter.parentId });
      if (filter.agentId) q = q.where({ agent_id: filter.agentId });
      if (filter.owner !== undefined) q = q.where({ owner: filter.owner });
      if (filter.kind) q = q.where({ kind: filter.kind });
      if (filter.state) q = q.where({ state: filter.state });
      return (await q.offset(filter.offset).limit(filter.limit)).map(fromRow);
    },

    /**
     * Appends the next event of a task. `build(seq)` returns the event's type
     * and JSON for the number it gets. With `onlyIfActive` (every event but a
     * late cancel's) nothing is written to a task that has already ended.
     */
    async appendEvent(
      taskId: string,
      now: number,
      build: (seq: number) => { type: string; json: string },
      patch: TaskPatch = {},
    ): Promise<number> {
      return knex.transaction(async (trx) => {
        // UPDATE ... RETURNING (SQLite >= 3.35 and PostgreSQL): one round trip for the new number.
        const updated = (await trx("tasks")
          .where({ id: taskId })
          .whereIn("state", ACTIVE_STATES)
          .update({ ...patchColumns(patch), last_seq: trx.raw("last_seq + 1"), updated_at: now }, ["last_seq"])) as { last_seq: unknown }[];
        if (updated.length === 0) {
          const row = await trx("tasks").where({ id: taskId }).first("state");
          throw new TaskEndedError(taskId, row ? String(row.state) : "deleted");
        }
        const seq = Number(updated[0]!.last_seq);
        const { type, json } = build(seq);
        await trx("task_events").insert({ task_id: taskId, seq, type, event: json, created_at: now });
        return seq;
      });
    },

    async eventsAfter(taskId: string, afterSeq: number, limit = 500): Promise<StoredTaskEvent[]> {
      const rows = await knex("task_events").where({ task_id: taskId }).andWhere("seq", ">", afterSeq).orderBy("seq", "asc").limit(limit);
      return rows.map((r: Record<string, unknown>) => ({
        taskId: String(r.task_id),
        seq: Number(r.seq),
        type: String(r.type),
        event: String(r.event),
        createdAt: Number(r.created_at),
      }));
    },

    /** Marks tasks as run by this process, now. */
    async heartbeat(ids: string[], runnerId: string, now: number): Promise<void> {
      if (ids.length === 0) return;
      await knex("tasks").whereIn("id", ids).whereIn("state", ACTIVE_STATES).update({ runner_id: runnerId, heartbeat_at: now });
    },

    /** The ids among `ids` whose task has ended (or no longer exists). */
    async endedAmong(ids: string[]): Promise<string[]> {
      if (ids.length === 0) return [];
      const active = new Set((await knex("tasks").whereIn("id", ids).whereIn("state", ACTIVE_STATES).select("id")).map((r: { id: string }) => r.id));
      return ids.filter((id) => !active.has(id));
    },

    /** Active tasks of `kind` whose runner has not been heard of since `before`. */
    async orphaned(kind: string, before: number): Promise<TaskRecord[]> {
      const rows = await knex("tasks")
        .where({ kind })
        .whereIn("state", ACTIVE_STATES)
        .andWhere((q) => q.where("heartbeat_at", "<", before).orWhere((q2) => q2.whereNull("heartbeat_at").andWhere("updated_at", "<", before)))
        .limit(500);
      return rows.map(fromRow);
    },

    /** Active tasks started by this runner (the ones a restart of the same process left behind). */
    async activeOfRunner(kind: string, runnerId: string): Promise<TaskRecord[]> {
      return (await knex("tasks").where({ kind, runner_id: runnerId }).whereIn("state", ACTIVE_STATES).limit(500)).map(fromRow);
    },
  };
}

export type TaskRepository = ReturnType<typeof createTaskRepository>;

import type { Knex } from "knex";
import { fromJson, toJson, toNumberOrNull } from "../../store/rows.js";
import { ACTIVE_STATES } from "../../store/tasks.js";
import type { WorkflowDefinition } from "./definition.js";

export type StepStateName = "pending" | "running" | "completed" | "failed" | "skipped";

/** One step's durable state: written every time it changes, so a restart resumes from it. */
export interface StepRecord {
  workflowId: string;
  stepId: string;
  state: StepStateName;
  /** Tries started (retries and fallbacks count; a run interrupted by a restart does not). */
  attempts: number;
  /** Child tasks submitted, interrupted ones included: the child's idempotency key is wf:<id>:<step>:<runs>. */
  runs: number;
  /** The child task of the current run. */
  taskId: string | null;
  agentId: string | null;
  output: string | null;
  result: Record<string, unknown> | null;
  error: string;
  startedAt: number | null;
  endedAt: number | null;
}

export interface WorkflowRecord {
  taskId: string;
  type: string;
  definition: WorkflowDefinition;
  deadlineAt: number | null;
  createdAt: number;
}

export type StepPatch = Partial<Omit<StepRecord, "workflowId" | "stepId">>;

function stepFromRow(r: Record<string, unknown>): StepRecord {
  return {
    workflowId: String(r.workflow_id),
    stepId: String(r.step_id),
    state: String(r.state) as StepStateName,
    attempts: Number(r.attempts ?? 0),
    runs: Number(r.runs ?? 0),
    taskId: r.task_id == null ? null : String(r.task_id),
    agentId: r.agent_id == null ? null : String(r.agent_id),
    output: r.output == null ? null : String(r.output),
    result: fromJson<Record<string, unknown> | null>(r.result, null),
    error: String(r.error ?? ""),
    startedAt: toNumberOrNull(r.started_at),
    endedAt: toNumberOrNull(r.ended_at),
  };
}

function stepColumns(p: StepPatch): Record<string, unknown> {
  const c: Record<string, unknown> = {};
  if (p.state !== undefined) c.state = p.state;
  if (p.attempts !== undefined) c.attempts = p.attempts;
  if (p.runs !== undefined) c.runs = p.runs;
  if (p.taskId !== undefined) c.task_id = p.taskId;
  if (p.agentId !== undefined) c.agent_id = p.agentId;
  if (p.output !== undefined) c.output = p.output;
  if (p.result !== undefined) c.result = p.result === null ? null : toJson(p.result);
  if (p.error !== undefined) c.error = p.error;
  if (p.startedAt !== undefined) c.started_at = p.startedAt;
  if (p.endedAt !== undefined) c.ended_at = p.endedAt;
  return c;
}

/** The workflows and workflow_steps tables, plus the claim on a workflow's task row that says which process runs it. */
export function createWorkflowStore(knex: Knex) {
  return {
    /** The definition and every step (pending), in one transaction with nothing else: the task row exists already. */
    async insert(wf: WorkflowRecord, stepIds: string[]): Promise<void> {
      await knex.transaction(async (trx) => {
        await trx("workflows").insert({
          task_id: wf.taskId,
          type: wf.type,
          definition: toJson(wf.definition),
          deadline_at: wf.deadlineAt,
          created_at: wf.createdAt,
          updated_at: wf.createdAt,
        });
        for (let i = 0; i < stepIds.length; i += 100) {
          await trx("workflow_steps").insert(
            stepIds.slice(i, i + 100).map((id) => ({ workflow_id: wf.taskId, step_id: id, state: "pending", attempts: 0, runs: 0, error: "" })),
          );
        }
      });
    },

    async get(taskId: string): Promise<WorkflowRecord | undefined> {
      const r = await knex("workflows").where({ task_id: taskId }).first();
      if (!r) return undefined;
      return {
        taskId: String(r.task_id),
        type: String(r.type),
        definition: fromJson<WorkflowDefinition>(r.definition, { type: "sequential", steps: [], input: {}, timeoutSeconds: 0 } as unknown as WorkflowDefinition),
        deadlineAt: toNumberOrNull(r.deadline_at),
        createdAt: Number(r.created_at),
      };
    },

    /** A hierarchical workflow's new worker steps, with the definition that now holds them, in one transaction. */
    async expand(workflowId: string, definition: WorkflowDefinition, newStepIds: string[], now: number): Promise<void> {
      await knex.transaction(async (trx) => {
        await trx("workflows").where({ task_id: workflowId }).update({ definition: toJson(definition), updated_at: now });
        if (newStepIds.length) {
          await trx("workflow_steps").insert(newStepIds.map((id) => ({ workflow_id: workflowId, step_id: id, state: "pending", attempts: 0, runs: 0, error: "" })));
        }
      });
    },

    async steps(workflowId: string): Promise<StepRecord[]> {
      return (await knex("workflow_steps").where({ workflow_id: workflowId })).map(stepFromRow);
    },

    async updateStep(workflowId: string, stepId: string, patch: StepPatch): Promise<void> {
      const cols = stepColumns(patch);
      if (Object.keys(cols).length === 0) return;
      await knex("workflow_steps").where({ workflow_id: workflowId, step_id: stepId }).update(cols);
    },

    /** Ends every step still pending or running as skipped (a failed, cancelled or timed-out workflow). */
    async skipUnfinished(workflowId: string, reason: string, now: number): Promise<void> {
      await knex("workflow_steps")
        .where({ workflow_id: workflowId })
        .whereIn("state", ["pending", "running"])
        .update({ state: "skipped", error: reason, ended_at: now });
    },

    /**
     * Takes a workflow to run: only if it is active and nobody holds it (released
     * on shutdown) or its holder has been silent since `staleBefore`. One
     * conditional UPDATE, so two replicas never both win.
     */
    async claim(taskId: string, runnerId: string, now: number, staleBefore: number): Promise<boolean> {
      const n = await knex("tasks")
        .where({ id: taskId, kind: "workflow" })
        .whereIn("state", ACTIVE_STATES)
        .andWhere((q) => q.whereNull("runner_id").orWhere("runner_id", runnerId).orWhere("heartbeat_at", "<", staleBefore).orWhereNull("heartbeat_at"))
        .update({ runner_id: runnerId, heartbeat_at: now });
      return Number(n) > 0;
    },

    /** Active workflows nobody is running: released by a clean shutdown, or whose process died. */
    async claimable(staleBefore: number, limit = 100): Promise<string[]> {
      const rows = await knex("tasks")
        .where({ kind: "workflow" })
        .whereIn("state", ACTIVE_STATES)
        .andWhere((q) => q.whereNull("runner_id").orWhere("heartbeat_at", "<", staleBefore).orWhereNull("heartbeat_at"))
        .orderBy("created_at", "asc")
        .limit(limit)
        .select("id");
      return rows.map((r: { id: string }) => String(r.id));
    },

    /** Lets another process (or this one after a restart) take these workflows at once. */
    async release(taskIds: string[], runnerId: string): Promise<void> {
      if (taskIds.length === 0) return;
      await knex("tasks").whereIn("id", taskIds).where({ runner_id: runnerId }).update({ runner_id: null });
    },
  };
}

export type WorkflowStore = ReturnType<typeof createWorkflowStore>;

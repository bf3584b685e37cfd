import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { TaskKind, type MeshService } from "../../../gen/meshai/v1/mesh_pb.js";
import { hasScope, principalOf } from "../auth/policy.js";
import type { Principal } from "../auth/access-tokens.js";
import { pageOffset, pageSize, paged } from "../auth/service.js";
import { isTerminal, type TaskRecord } from "../store/tasks.js";
import type { MeshEngine } from "./engine.js";
import { isTerminalEvent, taskStateName } from "./events.js";
import { taskInput, taskKindName, taskMessage } from "./tasks.js";

/** Managers (mcp:manage, and an admin when a user) see every task; everyone else only their own. */
function seesAll(p: Principal): boolean {
  return hasScope(p, "mcp:manage") && (!p.user || p.user.admin);
}

/**
 * Ends a running task or workflow with `reason` (a workflow: its running steps
 * are stopped and the rest skipped). The one cancel path of CancelTask and
 * `meshai task cancel`; a task another process runs is ended in the table,
 * which that process notices.
 */
export async function stopTask(mesh: MeshEngine, t: TaskRecord, reason: string): Promise<void> {
  if (isTerminal(t.state)) return;
  if (t.kind === "workflow") await mesh.workflows.cancel(t.id, reason);
  else await mesh.executor.cancel(t.id, reason);
}

/**
 * ExecuteTask, WatchTask, GetTask, ListTasks and CancelTask over the mesh
 * engine. A task belongs to the token's subject; another caller gets
 * NotFound for it, so task ids leak nothing.
 */
export function createTaskHandlers(mesh: MeshEngine): Partial<ServiceImpl<typeof MeshService>> {
  const { executor, tasks } = mesh;

  async function visibleTask(ctx: HandlerContext, id: string): Promise<TaskRecord> {
    const p = principalOf(ctx);
    if (!id) throw new ConnectError("id: is required", Code.InvalidArgument);
    const t = await tasks.byId(id);
    if (!t || (t.owner !== p.subject && !seesAll(p))) throw new ConnectError(`task ${id} not found`, Code.NotFound);
    return t;
  }

  return {
    /**
     * Persists the task (owned by the caller), then streams its events from
     * seq 1 until it ends. Attached (default): cancelling this stream cancels
     * the task. Detached: it keeps running; WatchTask follows it.
     */
    async *executeTask(req, ctx) {
      const p = principalOf(ctx);
      const input = taskInput(req, mesh.maxTaskTimeoutSeconds);
      const { task } = await executor.submit(p.subject, input);
      let ended = isTerminal(task.state);
      try {
        for await (const event of executor.follow(task.id, 0, ctx.signal)) {
          if (isTerminalEvent(event)) ended = true;
          yield { event };
        }
      } finally {
        if (!ended && !req.detached) {
          await executor.cancel(task.id, "the ExecuteTask stream that started it was cancelled (attached task)").catch(() => undefined);
        }
      }
    },

    async *watchTask(req, ctx) {
      const t = await visibleTask(ctx, req.id);
      const after = Number(req.afterSeq);
      if (after > t.lastSeq && isTerminal(t.state)) {
        throw new ConnectError(`after_seq: task ${t.id} ended at seq ${t.lastSeq}`, Code.OutOfRange);
      }
      for await (const event of executor.follow(t.id, after, ctx.signal)) yield { event };
    },

    async getTask(req, ctx) {
      return { task: taskMessage(await visibleTask(ctx, req.id)) };
    },

    async listTasks(req, ctx) {
      const p = principalOf(ctx);
      const size = pageSize(req.pageSize);
      const offset = pageOffset(req.pageToken);
      const rows = await tasks.list({
        owner: seesAll(p) ? undefined : p.subject,
        kind: req.kind === TaskKind.UNSPECIFIED ? undefined : taskKindName(req.kind),
        state: taskStateName(req.state) || undefined,
        parentId: req.parentId || undefined,
        agentId: req.agentId || undefined,
        offset,
        limit: size + 1,
      });
      const { items, nextPageToken } = paged(rows, offset, size);
      return { tasks: items.map(taskMessage), nextPageToken };
    },

    /** Stops the agent call (A2A CancelTask, aborted HTTP). A task that has already ended is returned as it is. */
    async cancelTask(req, ctx) {
      const t = await visibleTask(ctx, req.id);
      if (req.reason.length > 500) throw new ConnectError("reason: must be at most 500 characters", Code.InvalidArgument);
      await stopTask(mesh, t, req.reason || `cancelled by ${principalOf(ctx).subject}`);
      return { task: taskMessage((await tasks.byId(t.id)) ?? t) };
    },
  };
}

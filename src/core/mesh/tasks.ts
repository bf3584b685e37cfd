import { create, type JsonObject } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { type ExecuteTaskRequest, type Task, TaskKind, TaskSchema } from "../../../gen/meshai/v1/mesh_pb.js";
import type { TaskRecord } from "../store/tasks.js";
import { taskStateValue } from "./events.js";
import type { TaskInput } from "./executor.js";
import { strategyName } from "./router.js";

const CAPABILITY = /^[a-z][a-z0-9_.:-]{0,63}$/;
const MAX_TASK_CHARS = 200_000;

function invalid(field: string, why: string): ConnectError {
  return new ConnectError(`${field}: ${why}`, Code.InvalidArgument);
}

export function taskKindName(k: TaskKind): string {
  return k === TaskKind.UNSPECIFIED ? "" : (TaskKind[k] ?? "").toLowerCase();
}

/** The API view of a task. */
export function taskMessage(t: TaskRecord): Task {
  return create(TaskSchema, {
    id: t.id,
    kind: t.kind === "workflow" ? TaskKind.WORKFLOW : TaskKind.TASK,
    state: taskStateValue(t.state),
    owner: t.owner,
    input: t.input,
    capabilities: t.capabilities,
    agentId: t.agentId ?? "",
    output: t.output,
    result: (t.result ?? undefined) as JsonObject | undefined,
    error: t.error,
    lastSeq: BigInt(t.lastSeq),
    createTime: timestampFromMs(t.createdAt),
    updateTime: timestampFromMs(t.updatedAt),
    endTime: t.endedAt === null ? undefined : timestampFromMs(t.endedAt),
    parentId: t.parentId ?? "",
  });
}

/** Checks an ExecuteTask request at the edge; throws InvalidArgument naming the field. */
export function taskInput(req: ExecuteTaskRequest, maxTimeoutSeconds: number): TaskInput {
  const task = req.task.trim();
  if (!task) throw invalid("task", "is required: say what to do in words");
  if (task.length > MAX_TASK_CHARS) throw invalid("task", `must be at most ${MAX_TASK_CHARS} characters`);
  const capabilities = [...new Set(req.capabilities.map((c) => c.trim()).filter(Boolean))];
  if (capabilities.length > 16) throw invalid("capabilities", "may list at most 16 capabilities");
  for (const c of capabilities) if (!CAPABILITY.test(c)) throw invalid("capabilities", `${JSON.stringify(c)} is not a capability name (e.g. code_generation)`);
  const agents = [...new Set(req.agents.map((a) => a.trim()).filter(Boolean))];
  if (agents.length > 32) throw invalid("agents", "may list at most 32 agents");
  if (req.framework.length > 64) throw invalid("framework", "must be at most 64 characters");
  if (req.timeoutSeconds < 0 || req.timeoutSeconds > maxTimeoutSeconds) {
    throw invalid("timeout_seconds", `must be between 1 and ${maxTimeoutSeconds} (0 means the server's default)`);
  }
  if (req.idempotencyKey.length > 200) throw invalid("idempotency_key", "must be at most 200 characters");
  const strategy = strategyName(req.strategy);
  if (req.strategy !== 0 && !strategy) throw invalid("strategy", `unknown value ${req.strategy}`);
  const context = (req.context ?? {}) as Record<string, unknown>;
  if (JSON.stringify(context).length > 1_000_000) throw invalid("context", "must be at most 1 MB of JSON");
  return {
    task,
    capabilities,
    agents,
    framework: req.framework.trim().toLowerCase(),
    strategy,
    context,
    timeoutSeconds: req.timeoutSeconds,
    idempotencyKey: req.idempotencyKey,
  };
}

import { create, fromJsonString, type JsonObject, toJsonString } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  type RoutingDecision,
  type TaskEvent,
  TaskEventSchema,
  TaskEventType,
  TaskState,
} from "../../../gen/meshai/v1/mesh_pb.js";
import type { Clock } from "../clock.js";
import type { TaskPatch, TaskRepository, TaskStateName } from "../store/tasks.js";

/** Stored `type` column <-> TaskEventType: "accepted" <-> ACCEPTED. */
export type TaskEventName = "accepted" | "routed" | "progress" | "output" | "completed" | "failed" | "cancelled" | "retry" | "step_started" | "step_finished";

export function eventTypeValue(name: TaskEventName): TaskEventType {
  return (TaskEventType as unknown as Record<string, TaskEventType>)[name.toUpperCase()] ?? TaskEventType.UNSPECIFIED;
}

export function taskStateValue(name: string): TaskState {
  return (TaskState as unknown as Record<string, TaskState>)[name.toUpperCase()] ?? TaskState.UNSPECIFIED;
}

export function taskStateName(s: TaskState): TaskStateName | "" {
  return s === TaskState.UNSPECIFIED ? "" : ((TaskState[s] ?? "").toLowerCase() as TaskStateName);
}

export function isTerminalEvent(e: TaskEvent): boolean {
  return e.type === TaskEventType.COMPLETED || e.type === TaskEventType.FAILED || e.type === TaskEventType.CANCELLED;
}

/** What the executor says about an event; the seq and time are filled in when it is stored. */
export interface TaskEventInit {
  type: TaskEventName;
  /** The task's state after this event. */
  state: TaskStateName;
  message?: string;
  progress?: number;
  total?: number;
  output?: string;
  routing?: RoutingDecision;
  agentId?: string;
  data?: Record<string, unknown>;
  /** Workflow events: the step it is about. */
  stepId?: string;
}

export function buildEvent(taskId: string, seq: number, at: number, init: TaskEventInit): TaskEvent {
  return create(TaskEventSchema, {
    taskId,
    seq: BigInt(seq),
    type: eventTypeValue(init.type),
    time: timestampFromMs(at),
    message: init.message ?? "",
    progress: init.progress ?? 0,
    total: init.total ?? 0,
    output: init.output ?? "",
    routing: init.routing,
    agentId: init.agentId ?? "",
    stepId: init.stepId ?? "",
    state: taskStateValue(init.state),
    data: init.data as JsonObject | undefined,
  });
}

export const eventToJson = (e: TaskEvent): string => toJsonString(TaskEventSchema, e);
export const eventFromJson = (text: string): TaskEvent => fromJsonString(TaskEventSchema, text, { ignoreUnknownFields: true });

type Listener = (event: TaskEvent) => void;

/**
 * The in-process event bus: the executor publishes each event right after it
 * is stored; WatchTask/ExecuteTask streams in this process receive it without
 * reading the table again. A replica that did not run the task polls instead.
 */
export function createTaskEventBus() {
  const listeners = new Map<string, Set<Listener>>();
  return {
    publish(event: TaskEvent): void {
      const set = listeners.get(event.taskId);
      if (!set) return;
      for (const l of [...set]) l(event);
    },
    subscribe(taskId: string, listener: Listener): () => void {
      let set = listeners.get(taskId);
      if (!set) listeners.set(taskId, (set = new Set()));
      set.add(listener);
      return () => {
        set.delete(listener);
        if (set.size === 0) listeners.delete(taskId);
      };
    },
  };
}

export type TaskEventBus = ReturnType<typeof createTaskEventBus>;

/**
 * The one way a task or workflow event is emitted: stored with the next
 * per-task seq in one transaction with the task's state (and `patch`), and
 * only then published to live watchers.
 */
export function createEventEmitter(deps: { tasks: TaskRepository; bus: TaskEventBus; clock: Clock }) {
  return async function emit(taskId: string, init: TaskEventInit, patch: TaskPatch = {}): Promise<TaskEvent> {
    let event: TaskEvent | undefined;
    const at = deps.clock.now();
    await deps.tasks.appendEvent(
      taskId,
      at,
      (seq) => {
        event = buildEvent(taskId, seq, at, init);
        return { type: init.type, json: eventToJson(event) };
      },
      { state: init.state, ...patch },
    );
    deps.bus.publish(event!);
    return event!;
  };
}

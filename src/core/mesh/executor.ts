import { Code, ConnectError } from "@connectrpc/connect";
import { BrokenCircuitError } from "cockatiel";
import type { TaskEvent } from "../../../gen/meshai/v1/mesh_pb.js";
import type { AgentAdapter, AgentCall, AgentEvent } from "../agents/adapter.js";
import type { Clock } from "../clock.js";
import { newId } from "../ids.js";
import type { AgentStatsRepository } from "../store/agent-stats.js";
import type { AgentRecord } from "../store/agents.js";
import { isTerminal, TaskEndedError, type TaskPatch, type TaskRecord, type TaskRepository } from "../store/tasks.js";
import type { AgentSnapshot } from "./agent-snapshot.js";
import type { CoreTelemetry } from "../telemetry.js";
import { type Breakers, CallAbortedError } from "./breaker.js";
import { createEventEmitter, eventFromJson, isTerminalEvent, type TaskEventBus, type TaskEventInit } from "./events.js";
import { NoRouteError, type Router, type StrategyName } from "./router.js";

/** Output kept per task (stored and sent); an agent that streams more is stopped. */
const MAX_OUTPUT_CHARS = 4_000_000;

/** A validated ExecuteTask request. */
export interface TaskInput {
  task: string;
  capabilities: string[];
  agents: string[];
  framework: string;
  strategy?: StrategyName;
  context: Record<string, unknown>;
  /** 0: the server's default. */
  timeoutSeconds: number;
  idempotencyKey: string;
}

export interface ExecutorOptions {
  defaultTimeoutMs: number;
  /** Tries per agent before falling back to the next candidate. */
  attemptsPerAgent: number;
  /** First retry delay; doubles each retry. */
  retryBaseDelayMs: number;
  /** How many candidates a task may fall back through. */
  maxCandidates: number;
  /** How often running tasks are marked alive (and checked for a cancel from another replica). */
  heartbeatMs: number;
  /** A task whose runner has been silent this long is failed as interrupted. */
  staleAfterMs: number;
  /** How often a watcher of a task running in another process polls the table. */
  pollMs: number;
}

export const EXECUTOR_DEFAULTS: ExecutorOptions = {
  defaultTimeoutMs: 300_000,
  attemptsPerAgent: 2,
  retryBaseDelayMs: 250,
  maxCandidates: 3,
  heartbeatMs: 5_000,
  staleAfterMs: 30_000,
  pollMs: 250,
};

export interface ExecutorDeps {
  tasks: TaskRepository;
  agentStats: AgentStatsRepository;
  snapshot: AgentSnapshot;
  adapters: ReadonlyMap<string, AgentAdapter>;
  breakers: Breakers;
  /** Each agent call's latency and failure are reported here. */
  telemetry?: Pick<CoreTelemetry, "agentCall">;
  router: Router;
  bus: TaskEventBus;
  clock: Clock;
  inferCapabilities(text: string): string[];
  options?: Partial<ExecutorOptions>;
}

/** Why a run was stopped from outside the agent call. */
type StopReason =
  | { kind: "cancelled"; message: string }
  | { kind: "timeout"; seconds: number }
  | { kind: "shutdown" }
  | { kind: "ended" };

interface Run {
  controller: AbortController;
  done: Promise<void>;
}

const describe = (e: unknown): string => {
  if (e instanceof BrokenCircuitError) return "circuit open after repeated failures";
  const msg = e instanceof Error ? e.message : String(e);
  return msg.length > 500 ? `${msg.slice(0, 500)}...` : msg || "unknown error";
};

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new CallAbortedError("aborted"));
    const t = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new CallAbortedError("aborted"));
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Iterates an adapter's events but stops the moment `signal` aborts, even if
 * the adapter itself is stuck (a hung agent must not hold a task forever).
 */
async function* abortable<T>(source: AsyncIterable<T>, signal: AbortSignal): AsyncGenerator<T> {
  const it = source[Symbol.asyncIterator]();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new CallAbortedError("aborted"));
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
  aborted.catch(() => undefined);
  let finished = false;
  try {
    for (;;) {
      const r = await Promise.race([it.next(), aborted]);
      if (r.done) {
        finished = true;
        return;
      }
      yield r.value;
    }
  } finally {
    signal.removeEventListener("abort", onAbort!);
    if (!finished) void Promise.resolve(it.return?.()).catch(() => undefined);
  }
}

/**
 * Runs tasks: persists each one, routes it, calls the agent through its
 * adapter and circuit breaker, retries with backoff and falls back to the
 * next candidate, and stores every event (with its seq) before publishing it.
 */
export function createExecutor(deps: ExecutorDeps) {
  const { tasks, agentStats, snapshot, adapters, breakers, router, bus, clock } = deps;
  const o: ExecutorOptions = { ...EXECUTOR_DEFAULTS, ...deps.options };
  const runnerId = newId("run");
  const running = new Map<string, Run>();
  const load = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;
  let ticks = 0;
  let closed = false;

  const live = {
    load: (id: string) => load.get(id) ?? 0,
    circuitOpen: (id: string) => breakers.isOpen(id),
  };

  /** Stores an event (one transaction with its task's last_seq), then publishes it. */
  const emit = createEventEmitter({ tasks, bus, clock });

  async function recordOutcome(agentId: string, ok: boolean, ms: number) {
    snapshot.noteOutcome(agentId, ok, ms);
    try {
      await agentStats.recordOutcome(agentId, ok, ms);
    } catch {
      /* statistics must never fail a task */
    }
  }

  /** One call to one agent: its events become task events; returns the final output. */
  async function callAgent(task: TaskRecord, input: TaskInput, agent: AgentRecord, capabilities: string[], signal: AbortSignal, deadline: number, progress: { output: string; outputSeen: boolean }) {
    const adapter = adapters.get(agent.protocol);
    if (!adapter) throw new Error(`no adapter for protocol ${agent.protocol}`);
    const attempt = new AbortController();
    const callSignal = AbortSignal.any([signal, attempt.signal]);
    const call: AgentCall = {
      taskId: task.id,
      task: input.task,
      capabilities,
      context: input.context,
      timeoutMs: Math.max(1, deadline - clock.now()),
      signal: callSignal,
    };
    let result: { text: string; data?: Record<string, unknown> } | undefined;
    // The agent is read ahead of storage: output deltas that arrive while the
    // previous event is being stored are merged into the next output event, so
    // a fast token stream is never throttled to one database write per token.
    const queue: AgentEvent[] = [];
    let wake: (() => void) | undefined;
    let ended = false;
    let failure: unknown;
    const pump = (async () => {
      try {
        for await (const ev of abortable(adapter.run(agent, call), callSignal)) {
          queue.push(ev);
          wake?.();
        }
      } catch (e) {
        failure = e;
      } finally {
        ended = true;
        wake?.();
      }
    })();
    try {
      for (;;) {
        if (queue.length === 0) {
          if (ended) break;
          await new Promise<void>((r) => {
            wake = r;
            if (queue.length || ended) r();
          });
          wake = undefined;
          continue;
        }
        let ev = queue.shift()!;
        while (ev.type === "output" && queue[0]?.type === "output") ev = { type: "output", text: ev.text + (queue.shift() as { text: string }).text };
        if (ev.type === "progress") {
          await emit(task.id, { type: "progress", state: "executing", agentId: agent.id, message: ev.message, progress: ev.progress, total: ev.total });
        } else if (ev.type === "output") {
          if (!ev.text) continue;
          progress.outputSeen = true;
          progress.output += ev.text;
          if (progress.output.length > MAX_OUTPUT_CHARS) throw new Error(`the agent's output passed ${MAX_OUTPUT_CHARS} characters; stopped`);
          await emit(task.id, { type: "output", state: "executing", agentId: agent.id, output: ev.text });
        } else if (ev.type === "result") {
          result = { text: ev.text, data: ev.data };
        }
      }
      await pump;
      if (failure !== undefined) throw failure;
    } catch (e) {
      attempt.abort();
      await pump;
      if (signal.aborted || e instanceof TaskEndedError) throw new CallAbortedError(describe(e));
      throw e;
    }
    if (!result) {
      if (progress.outputSeen) return { text: progress.output };
      throw new Error("the agent ended without a result");
    }
    return result;
  }

  async function finish(taskId: string, init: TaskEventInit, patch: TaskPatch): Promise<void> {
    try {
      await emit(taskId, init, { endedAt: clock.now(), ...patch });
    } catch (e) {
      if (!(e instanceof TaskEndedError)) throw e;
    }
  }

  async function stopped(task: TaskRecord, reason: StopReason, agentId: string | undefined, output: string) {
    switch (reason.kind) {
      case "cancelled": {
        const message = `cancelled: ${reason.message}`;
        return finish(task.id, { type: "cancelled", state: "cancelled", message, agentId }, { error: message, output });
      }
      case "timeout": {
        const message = `timed out after ${reason.seconds} s (timeout_seconds) while ${agentId ? `agent ${agentId} was working` : "routing"}`;
        return finish(task.id, { type: "failed", state: "failed", message, agentId }, { error: message, output });
      }
      case "shutdown": {
        const message = "interrupted: the MeshAI server shut down while the task was running; run it again";
        return finish(task.id, { type: "failed", state: "failed", message, agentId }, { error: message, output });
      }
      default:
        return;
    }
  }

  async function execute(task: TaskRecord, input: TaskInput, controller: AbortController, timeoutMs: number): Promise<void> {
    const signal = controller.signal;
    const deadline = clock.now() + timeoutMs;
    const progress = { output: "", outputSeen: false };
    let currentAgent: string | undefined;
    try {
      let capabilities = input.capabilities;
      let inferred = false;
      if (capabilities.length === 0 && input.agents.length === 0) {
        capabilities = deps.inferCapabilities(input.task);
        inferred = true;
      }
      const { agents, byId } = await snapshot.get();
      let route;
      try {
        route = router.route(
          { capabilities, capabilitiesInferred: inferred, agents: input.agents, framework: input.framework, strategy: input.strategy },
          agents,
          live,
          byId,
        );
      } catch (e) {
        if (!(e instanceof NoRouteError)) throw e;
        return finish(task.id, { type: "failed", state: "failed", message: e.message }, { error: e.message, capabilities });
      }
      const primary = route.ranked[0]!.agent;
      currentAgent = primary.id;
      await emit(
        task.id,
        { type: "routed", state: "executing", agentId: primary.id, routing: route.decision, message: `routed to ${primary.name} (${primary.id}): ${route.decision.reasons.at(-1) ?? ""}` },
        { agentId: primary.id, capabilities },
      );

      const failures: string[] = [];
      const candidates = route.ranked.slice(0, o.maxCandidates).map((r) => r.agent);
      for (const [i, agent] of candidates.entries()) {
        if (i > 0) {
          if (progress.outputSeen) break;
          currentAgent = agent.id;
          await emit(
            task.id,
            { type: "retry", state: "executing", agentId: agent.id, message: `falling back to ${agent.name} (${agent.id}) after ${failures.at(-1)}` },
            { agentId: agent.id },
          );
        }
        for (let attempt = 1; attempt <= o.attemptsPerAgent; attempt++) {
          if (attempt > 1) {
            const delay = o.retryBaseDelayMs * 2 ** (attempt - 2);
            await emit(task.id, {
              type: "retry",
              state: "executing",
              agentId: agent.id,
              message: `retrying ${agent.id} in ${delay} ms (attempt ${attempt} of ${o.attemptsPerAgent}) after ${failures.at(-1)}`,
              data: { attempt, delay_ms: delay },
            });
            await sleep(delay, signal);
          }
          if (breakers.isOpen(agent.id)) {
            failures.push(`${agent.id}: circuit open after repeated failures`);
            break;
          }
          if ((load.get(agent.id) ?? 0) >= agent.maxConcurrentTasks) {
            failures.push(`${agent.id}: at its concurrency limit (${agent.maxConcurrentTasks} tasks)`);
            break;
          }
          load.set(agent.id, (load.get(agent.id) ?? 0) + 1);
          const started = clock.now();
          try {
            const result = await breakers.execute(agent.id, () => callAgent(task, input, agent, capabilities, signal, deadline, progress));
            load.set(agent.id, Math.max(0, (load.get(agent.id) ?? 1) - 1));
            await recordOutcome(agent.id, true, clock.now() - started);
            deps.telemetry?.agentCall(agent, true, clock.now() - started);
            const output = result.text || progress.output;
            return finish(
              task.id,
              { type: "completed", state: "completed", agentId: agent.id, output, message: `completed by ${agent.name} (${agent.id}) in ${clock.now() - started} ms`, data: result.data },
              { output, result: result.data ?? null, agentId: agent.id },
            );
          } catch (e) {
            load.set(agent.id, Math.max(0, (load.get(agent.id) ?? 1) - 1));
            if (e instanceof CallAbortedError || signal.aborted) throw e;
            if (!(e instanceof BrokenCircuitError)) {
              await recordOutcome(agent.id, false, clock.now() - started);
              deps.telemetry?.agentCall(agent, false, clock.now() - started, describe(e));
            }
            failures.push(`${agent.id}: ${describe(e)}`);
            // Output already sent cannot be taken back; a refusal (HTTP 4xx) will not change on retry.
            if (progress.outputSeen || e instanceof BrokenCircuitError || (e as { permanent?: boolean }).permanent) break;
          }
        }
      }
      const message =
        failures.length === 1
          ? `agent ${failures[0]}`
          : `${progress.outputSeen ? "the agent failed after it had started answering, so no fallback was tried" : `all ${failures.length} attempts failed`}: ${failures.join("; ")}`;
      return finish(task.id, { type: "failed", state: "failed", agentId: currentAgent, message }, { error: message, output: progress.output });
    } catch (e) {
      if (signal.aborted) return stopped(task, signal.reason as StopReason, currentAgent, progress.output);
      if (e instanceof TaskEndedError) return;
      const message = `internal error: ${describe(e)}`;
      return finish(task.id, { type: "failed", state: "failed", agentId: currentAgent, message }, { error: message, output: progress.output });
    }
  }

  function launch(task: TaskRecord, input: TaskInput, timeoutMs: number): void {
    const controller = new AbortController();
    const timeout = setTimeout(() => controller.abort({ kind: "timeout", seconds: Math.round(timeoutMs / 1000) } satisfies StopReason), timeoutMs);
    const done = execute(task, input, controller, timeoutMs)
      .catch(() => undefined)
      .finally(() => {
        clearTimeout(timeout);
        running.delete(task.id);
      });
    running.set(task.id, { controller, done });
  }

  async function failOrphans(): Promise<void> {
    const stale = await tasks.orphaned("task", clock.now() - o.staleAfterMs);
    for (const t of stale) {
      if (running.has(t.id)) continue;
      const since = t.heartbeatAt ?? t.updatedAt;
      const message = `interrupted: the MeshAI process running this task stopped (last heard of ${new Date(since).toISOString()}) before it finished; run it again`;
      await finish(t.id, { type: "failed", state: "failed", agentId: t.agentId ?? undefined, message }, { error: message });
    }
  }

  async function tick(): Promise<void> {
    ticks++;
    const ids = [...running.keys()];
    await tasks.heartbeat(ids, runnerId, clock.now());
    // A cancel written by another replica: stop our agent call too.
    for (const id of await tasks.endedAmong(ids)) running.get(id)?.controller.abort({ kind: "ended" } satisfies StopReason);
    if (ticks % 3 === 0) await failOrphans();
  }

  return {
    runnerId,
    live,

    /** Starts the heartbeat and fails the tasks a dead process left behind. */
    async start(): Promise<void> {
      await failOrphans();
      timer = setInterval(() => void tick().catch(() => undefined), o.heartbeatMs);
      timer.unref();
    },

    /** Persists the task (or finds the one with the same idempotency key) and starts it. */
    async submit(owner: string, input: TaskInput, opts: { parentId?: string } = {}): Promise<{ task: TaskRecord; created: boolean }> {
      if (closed) throw new ConnectError("the server is shutting down; retry the task on another replica or after restart", Code.Unavailable);
      if (input.idempotencyKey) {
        const existing = await tasks.byIdempotencyKey(owner, input.idempotencyKey);
        if (existing) return { task: existing, created: false };
      }
      const now = clock.now();
      const timeoutMs = input.timeoutSeconds > 0 ? input.timeoutSeconds * 1000 : o.defaultTimeoutMs;
      const task: TaskRecord = {
        id: newId("tsk"),
        kind: "task",
        state: "pending",
        owner,
        input: input.task,
        request: { ...input, timeoutSeconds: Math.round(timeoutMs / 1000) },
        capabilities: input.capabilities,
        agentId: null,
        output: "",
        result: null,
        error: "",
        lastSeq: 0,
        parentId: opts.parentId ?? null,
        idempotencyKey: input.idempotencyKey || null,
        createdAt: now,
        updatedAt: now,
        endedAt: null,
        runnerId,
        heartbeatAt: now,
      };
      try {
        await tasks.insert(task);
      } catch (e) {
        const existing = input.idempotencyKey ? await tasks.byIdempotencyKey(owner, input.idempotencyKey) : undefined;
        if (existing) return { task: existing, created: false };
        throw e;
      }
      await emit(task.id, { type: "accepted", state: "pending", message: "task accepted" });
      launch(task, input, timeoutMs);
      return { task, created: true };
    },

    isRunningHere(taskId: string): boolean {
      return running.has(taskId);
    },

    /**
     * Cancels a task: here, by aborting its agent call (A2A CancelTask, aborted
     * HTTP) and waiting for the cancelled event; for a task another replica
     * runs, by storing the cancelled event, which that replica notices.
     */
    async cancel(taskId: string, reason: string): Promise<void> {
      const run = running.get(taskId);
      if (run) {
        run.controller.abort({ kind: "cancelled", message: reason } satisfies StopReason);
        await Promise.race([run.done, new Promise((r) => setTimeout(r, 10_000).unref())]);
        return;
      }
      const message = `cancelled: ${reason}`;
      await finish(taskId, { type: "cancelled", state: "cancelled", message }, { error: message });
    },

    /**
     * Events of a task after `afterSeq`: the stored ones first, then live ones
     * (from the in-process bus, or by polling the table when another process
     * runs the task) until the task's terminal event or `signal` aborts.
     */
    async *follow(taskId: string, afterSeq: number, signal: AbortSignal): AsyncGenerator<TaskEvent> {
      let last = afterSeq;
      const queue: TaskEvent[] = [];
      let wake: (() => void) | undefined;
      const unsubscribe = bus.subscribe(taskId, (e) => {
        queue.push(e);
        wake?.();
      });
      const onAbort = () => wake?.();
      signal.addEventListener("abort", onAbort);
      try {
        for (;;) {
          for (;;) {
            const stored = await tasks.eventsAfter(taskId, last);
            for (const s of stored) {
              const ev = eventFromJson(s.event);
              last = s.seq;
              yield ev;
              if (isTerminalEvent(ev)) return;
            }
            if (stored.length < 500) break;
          }
          const t = await tasks.byId(taskId);
          if (!t || (isTerminal(t.state) && last >= t.lastSeq)) return;
          for (;;) {
            if (signal.aborted) return;
            let gap = false;
            while (queue.length) {
              const e = queue.shift()!;
              const seq = Number(e.seq);
              if (seq <= last) continue;
              if (seq !== last + 1) {
                gap = true;
                queue.unshift(e);
                break;
              }
              last = seq;
              yield e;
              if (isTerminalEvent(e)) return;
            }
            if (gap) break;
            const woke = await new Promise<boolean>((resolve) => {
              const t = setTimeout(() => resolve(false), running.has(taskId) ? o.heartbeatMs : o.pollMs);
              wake = () => {
                clearTimeout(t);
                resolve(true);
              };
              if (queue.length || signal.aborted) wake();
            });
            wake = undefined;
            if (!woke) break;
          }
        }
      } finally {
        unsubscribe();
        signal.removeEventListener("abort", onAbort);
      }
    },

    /** Stops the heartbeat and ends every running task with a clear reason. */
    async close(): Promise<void> {
      closed = true;
      if (timer) clearInterval(timer);
      const runs = [...running.values()];
      for (const r of runs) r.controller.abort({ kind: "shutdown" } satisfies StopReason);
      await Promise.race([Promise.all(runs.map((r) => r.done)), new Promise((r) => setTimeout(r, 5_000).unref())]);
    },
  };
}

export type Executor = ReturnType<typeof createExecutor>;

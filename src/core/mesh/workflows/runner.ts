import { setMaxListeners } from "node:events";
import { Code, ConnectError } from "@connectrpc/connect";
import { TaskEventType } from "../../../../gen/meshai/v1/mesh_pb.js";
import type { Clock } from "../../clock.js";
import { newId } from "../../ids.js";
import { isTerminal, TaskEndedError, type TaskPatch, type TaskRecord, type TaskRepository } from "../../store/tasks.js";
import { createEventEmitter, type TaskEventBus, type TaskEventInit } from "../events.js";
import type { Executor, TaskInput } from "../executor.js";
import type { StepDefinition, WorkflowDefinition, WorkflowLimits } from "./definition.js";
import type { StepRecord, WorkflowStore } from "./store.js";
import { subtasksOf, tally } from "./decide.js";
import { render } from "./template.js";

export interface WorkflowRunnerOptions {
  /** How often running workflows are marked alive (and checked for a cancel written by another replica). */
  heartbeatMs: number;
  /** A workflow whose runner has been silent this long is taken over by another process. */
  staleAfterMs: number;
  /** The per-step timeout when a step sets none. */
  defaultStepTimeoutSeconds: number;
  /**
   * Take over every unfinished workflow at start, however fresh its heartbeat:
   * right on SQLite, where one process serves, so the one before has died.
   */
  takeOverAtStart: boolean;
}

export const WORKFLOW_RUNNER_DEFAULTS: WorkflowRunnerOptions = { heartbeatMs: 5_000, staleAfterMs: 30_000, defaultStepTimeoutSeconds: 300, takeOverAtStart: false };

export interface WorkflowRunnerDeps {
  tasks: TaskRepository;
  store: WorkflowStore;
  executor: Executor;
  bus: TaskEventBus;
  clock: Clock;
  limits: WorkflowLimits;
  options?: Partial<WorkflowRunnerOptions>;
}

/** Why a workflow's run was stopped before its steps were done. */
type Stop =
  | { kind: "cancelled"; message: string }
  | { kind: "timeout"; seconds: number }
  | { kind: "failed"; message: string }
  /** The process is shutting down: leave everything as it is, a restart resumes it. */
  | { kind: "shutdown" }
  /** Ended from outside (cancelled by another replica). */
  | { kind: "ended" };

interface Live {
  controller: AbortController;
  done: Promise<void>;
  /** step id -> the child task running it now */
  children: Map<string, string>;
}

const MAX_MESSAGE = 300;
const preview = (s: string, n = 80) => (s.length > n ? `${s.slice(0, n)}...` : s);
const clip = (s: string) => (s.length > MAX_MESSAGE ? `${s.slice(0, MAX_MESSAGE)}...` : s);
const childKey = (workflowId: string, stepId: string, run: number) => `wf:${workflowId}:${stepId}:${run}`;
/** A run of a step that ended because its process went away (not the agent's fault): run it again. */
const interrupted = (t: TaskRecord) => t.error.startsWith("interrupted:") || t.error.startsWith("cancelled: superseded");

/**
 * Runs workflows as graphs of steps; each step try is a child task
 * (parent_id = the workflow) submitted to the mesh executor, so routing,
 * retries, breakers and cancellation are the executor's. Step state is stored
 * as it changes; a workflow left unfinished by a process that stopped is
 * claimed and resumed from its stored steps by the next one (a finished step
 * never runs again; an interrupted run is found again by its idempotency key).
 */
export function createWorkflowRunner(deps: WorkflowRunnerDeps) {
  const { tasks, store, executor, bus, clock, limits } = deps;
  const o: WorkflowRunnerOptions = { ...WORKFLOW_RUNNER_DEFAULTS, ...deps.options };
  const runnerId = executor.runnerId;
  const running = new Map<string, Live>();
  let timer: NodeJS.Timeout | undefined;
  let ticks = 0;
  let closed = false;

  const emit = createEventEmitter({ tasks, bus, clock });

  async function finish(taskId: string, init: TaskEventInit, patch: TaskPatch): Promise<void> {
    try {
      await emit(taskId, init, { endedAt: clock.now(), ...patch });
    } catch (e) {
      if (!(e instanceof TaskEndedError)) throw e;
    }
  }

  function summary(def: WorkflowDefinition, rows: Map<string, StepRecord>) {
    const steps: Record<string, unknown> = {};
    for (const s of def.steps) {
      const r = rows.get(s.id)!;
      steps[s.id] = { state: r.state, agent_id: r.agentId ?? "", attempts: r.attempts, error: r.error, output: preview(r.output ?? "", 2000), ...(r.result ? { result: r.result } : {}) };
    }
    return { workflow_type: def.type, steps, order: def.steps.map((s) => s.id) };
  }

  function finalOutput(def: WorkflowDefinition, rows: Map<string, StepRecord>): string {
    const outs = def.outputSteps.map((id) => ({ id, r: rows.get(id)! }));
    if (outs.length === 1) return outs[0]!.r.output ?? "";
    return outs.map(({ id, r }) => `## ${id}\n${r.output || `(${r.state}${r.error ? `: ${r.error}` : ""})`}`).join("\n\n");
  }

  /** Follows a child task and repeats its events on the workflow with the step id; returns the ended child (undefined when stopped). */
  async function forward(workflowId: string, stepId: string, childId: string, live: Live): Promise<TaskRecord | undefined> {
    const signal = live.controller.signal;
    for await (const ev of executor.follow(childId, 0, signal)) {
      const base = { stepId, agentId: ev.agentId || undefined, state: "executing" as const };
      try {
        switch (ev.type) {
          case TaskEventType.ROUTED:
            await emit(workflowId, { ...base, type: "routed", routing: ev.routing, message: `step ${stepId}: ${ev.message}` });
            break;
          case TaskEventType.PROGRESS:
            await emit(workflowId, { ...base, type: "progress", message: `step ${stepId}: ${ev.message}`, progress: ev.progress, total: ev.total });
            break;
          case TaskEventType.OUTPUT:
            await emit(workflowId, { ...base, type: "output", output: ev.output });
            break;
          case TaskEventType.RETRY:
            await emit(workflowId, { ...base, type: "retry", message: `step ${stepId}: ${ev.message}` });
            break;
          default:
            break;
        }
      } catch (e) {
        if (e instanceof TaskEndedError) {
          live.controller.abort({ kind: "ended" } satisfies Stop);
          return undefined;
        }
        throw e;
      }
    }
    if (signal.aborted) return undefined;
    const child = await tasks.byId(childId);
    return child && isTerminal(child.state) ? child : undefined;
  }

  async function run(workflowId: string, live: Live): Promise<void> {
    const signal = live.controller.signal;
    const task = await tasks.byId(workflowId);
    const wf = await store.get(workflowId);
    if (!task || isTerminal(task.state)) return;
    if (!wf) {
      const message = "internal error: the workflow's definition was not stored (its submit was interrupted); submit it again";
      return finish(workflowId, { type: "failed", state: "failed", message }, { error: message });
    }
    const def = wf.definition;
    const rows = new Map((await store.steps(workflowId)).map((r) => [r.stepId, r]));
    let total = def.steps.length;
    const doneCount = () => [...rows.values()].filter((r) => r.state === "completed" || r.state === "failed" || r.state === "skipped").length;
    const deadlineAt = wf.deadlineAt ?? wf.createdAt + def.timeoutSeconds * 1000;
    const timer = setTimeout(() => live.controller.abort({ kind: "timeout", seconds: def.timeoutSeconds } satisfies Stop), Math.max(0, deadlineAt - clock.now()));

    const finished = (id: string) => {
      const s = rows.get(id)!.state;
      return s === "completed" || s === "failed" || s === "skipped";
    };

    async function stepEnded(s: StepDefinition, patch: Partial<StepRecord> & Pick<StepRecord, "state">, message: string) {
      const row = rows.get(s.id)!;
      Object.assign(row, patch, { endedAt: clock.now() });
      await store.updateStep(workflowId, s.id, { ...patch, taskId: row.taskId, endedAt: row.endedAt });
      await emit(workflowId, {
        type: "step_finished",
        state: "executing",
        stepId: s.id,
        agentId: row.agentId ?? undefined,
        message,
        progress: doneCount(),
        total,
        output: row.output ?? "",
        data: { state: row.state, attempts: row.attempts, ...(row.error ? { error: row.error } : {}) },
      });
    }

    async function runStep(s: StepDefinition): Promise<void> {
      const row = rows.get(s.id)!;
      const candidates: (string | null)[] = [s.agent || null, ...s.fallbackAgents];
      const perCandidate = s.retries + 1;
      const tries = candidates.length * perCandidate;
      let attempts = row.attempts;
      let lastError = row.error;
      let lastAgent: string | null = row.agentId ?? (s.agent || null);
      let child: TaskRecord | undefined;

      // A run in flight when the last process stopped: take its answer if it finished, else run that try again.
      if (row.state === "running" && row.runs > 0) {
        const c = await tasks.byIdempotencyKey(task!.owner, childKey(workflowId, s.id, row.runs));
        if (c && c.state === "completed") return complete(s, c);
        if (c && !isTerminal(c.state) && executor.isRunningHere(c.id)) child = c;
        else if (c && !isTerminal(c.state)) {
          await executor.cancel(c.id, "superseded: its workflow was resumed by another process, which runs the step again").catch(() => undefined);
          attempts = Math.max(0, attempts - 1);
        } else if (!c || interrupted(c)) attempts = Math.max(0, attempts - 1);
        else lastError = c.error || `the step's task ended ${c.state}`;
      }

      for (;;) {
        if (signal.aborted) return;
        if (!child) {
          if (attempts >= tries) return fail(s, lastError || "the step failed", lastAgent);
          attempts++;
          const agent = candidates[Math.floor((attempts - 1) / perCandidate)]!;
          const runs = row.runs + 1;
          const scope = {
            input: def.input,
            steps: new Map([...rows].map(([id, r]) => [id, { output: r.output ?? "", error: r.error, result: r.result }])),
            dependsOn: s.dependsOn,
            vars: s.vars,
          };
          const text = render(s.task, scope);
          const remaining = Math.max(1, Math.ceil((deadlineAt - clock.now()) / 1000));
          const input: TaskInput = {
            task: text,
            capabilities: s.capabilities,
            agents: agent ? [agent] : def.allowedAgents,
            framework: "",
            // Only the step's own context: adapters such as A2A and LLMs put the context into the prompt,
            // so earlier outputs travel only where the task text asks for them ({{...}}).
            context: s.context,
            timeoutSeconds: Math.min(s.timeoutSeconds || o.defaultStepTimeoutSeconds, remaining),
            idempotencyKey: childKey(workflowId, s.id, runs),
          };
          const startedAt = row.startedAt ?? clock.now();
          // Stored before the child exists: a restart finds the child again by this run's key.
          Object.assign(row, { state: "running", attempts, runs, startedAt, error: "" });
          await store.updateStep(workflowId, s.id, { state: "running", attempts, runs, startedAt });
          const { task: c } = await executor.submit(task!.owner, input, { parentId: workflowId });
          // Not written now (a restart finds the child by its key); stored with the step's end.
          row.taskId = c.id;
          child = c;
          const who = agent ? `agent ${agent}` : s.capabilities.length ? `an agent with ${s.capabilities.join(", ")}` : "the best agent for it";
          try {
            if (attempts === 1) {
              await emit(workflowId, { type: "step_started", state: "executing", stepId: s.id, message: `step ${s.id} started (${who}): ${preview(text)}`, data: { task_id: c.id, attempt: attempts } });
            } else {
              await emit(workflowId, { type: "retry", state: "executing", stepId: s.id, message: `step ${s.id}: try ${attempts} of ${tries} (${who}) after ${clip(lastError)}`, data: { task_id: c.id, attempt: attempts } });
            }
          } catch (e) {
            if (!(e instanceof TaskEndedError)) throw e;
            live.controller.abort({ kind: "ended" } satisfies Stop);
            return;
          }
        }
        live.children.set(s.id, child.id);
        const end = await forward(workflowId, s.id, child.id, live);
        live.children.delete(s.id);
        if (!end) return;
        if (end.state === "completed") return complete(s, end);
        if (interrupted(end)) attempts = Math.max(0, attempts - 1);
        else lastError = end.error || `the step's task ended ${end.state}`;
        lastAgent = end.agentId ?? lastAgent;
        child = undefined;
      }
    }

    async function complete(s: StepDefinition, child: TaskRecord) {
      const x = def.expand;
      if (x && s.id === x.planStep && !def.steps.some((d) => d.dependsOn.includes(s.id) && d.id !== x.synthStep)) {
        // hierarchical: the manager's plan becomes worker steps (stored with the definition before the plan counts as done).
        const subtasks = subtasksOf(child.output, x.maxSubtasks);
        if (subtasks.length === 0) {
          return fail(s, `the manager's plan listed no sub-tasks (expected a JSON array of strings or a numbered list): ${preview(child.output, 200)}`);
        }
        const workers: StepDefinition[] = subtasks.map((item, i) => {
          const rotated = x.agents.length ? [...x.agents.slice(i % x.agents.length), ...x.agents.slice(0, i % x.agents.length)] : [];
          return {
            ...x.worker,
            id: `worker${i + 1}`,
            agent: rotated[0] ?? "",
            fallbackAgents: rotated.slice(1),
            dependsOn: [s.id],
            vars: { item, index: String(i + 1) },
            context: { ...x.worker.context, overall_task: def.input.task ?? "" },
          };
        });
        const synth = def.steps.find((d) => d.id === x.synthStep)!;
        def.steps.splice(def.steps.indexOf(synth), 0, ...workers);
        synth.dependsOn = workers.map((w) => w.id);
        await store.expand(workflowId, def, workers.map((w) => w.id), clock.now());
        for (const w of workers) {
          rows.set(w.id, { workflowId, stepId: w.id, state: "pending", attempts: 0, runs: 0, taskId: null, agentId: null, output: null, result: null, error: "", startedAt: null, endedAt: null });
        }
        total = def.steps.length;
      }
      await stepEnded(
        s,
        { state: "completed", output: child.output, result: child.result, agentId: child.agentId, error: "", taskId: child.id },
        `step ${s.id} completed${child.agentId ? ` by ${child.agentId}` : ""} (${doneCount() + 1} of ${total} steps done)`,
      );
    }

    async function fail(s: StepDefinition, error: string, agentId: string | null = null) {
      const why = clip(error);
      const who = agentId ? { agentId } : {};
      if (s.onError === "fail") {
        await stepEnded(s, { state: "failed", error, ...who }, `step ${s.id} failed: ${why}`);
        live.controller.abort({ kind: "failed", message: `step ${s.id} failed (on_error fail): ${why}` } satisfies Stop);
      } else if (s.onError === "skip") {
        await stepEnded(s, { state: "skipped", error, ...who }, `step ${s.id} skipped after it failed (on_error skip): ${why}`);
      } else {
        await stepEnded(s, { state: "failed", error, ...who }, `step ${s.id} failed; the workflow continues (on_error continue): ${why}`);
      }
    }

    const inflight = new Map<string, Promise<void>>();
    const stopped = new Promise<void>((r) => signal.addEventListener("abort", () => r(), { once: true }));
    try {
      while (!signal.aborted) {
        for (const s of def.steps) {
          if (inflight.size >= limits.maxFanOut) break;
          if (inflight.has(s.id) || finished(s.id)) continue;
          if (!s.dependsOn.every(finished)) continue;
          inflight.set(
            s.id,
            runStep(s)
              .catch((e) => {
                if (!signal.aborted) live.controller.abort({ kind: "failed", message: `step ${s.id}: internal error: ${e instanceof Error ? e.message : String(e)}` } satisfies Stop);
              })
              .finally(() => inflight.delete(s.id)),
          );
        }
        if (inflight.size === 0) break;
        await Promise.race([...inflight.values(), stopped]);
      }
      if (!signal.aborted) {
        const unfinished = def.steps.filter((s) => !finished(s.id));
        if (unfinished.length) {
          live.controller.abort({ kind: "failed", message: `internal error: steps ${unfinished.map((s) => s.id).join(", ")} could not start` } satisfies Stop);
        } else if (def.consensus && tally(def.consensus, rows).answered === 0) {
          const t = tally(def.consensus, rows);
          live.controller.abort({ kind: "failed", message: `consensus: none of the ${t.votes.length} agents answered (${def.consensus.voters.map((v) => `${v}: ${clip(rows.get(v)!.error)}`).join("; ")})` } satisfies Stop);
        } else {
          const t = def.consensus ? tally(def.consensus, rows) : undefined;
          const output = t && t.method === "majority" ? t.majority_answer : finalOutput(def, rows);
          const result = { ...summary(def, rows), ...(t ? { consensus: t } : {}) };
          const failed = def.steps.filter((s) => rows.get(s.id)!.state !== "completed").map((s) => `${s.id} ${rows.get(s.id)!.state}`);
          return await finish(
            workflowId,
            {
              type: "completed",
              state: "completed",
              output,
              message: t
                ? `consensus decided by ${t.decided_by}: ${Math.round(t.agreement * t.answered)} of ${t.answered} answering agents agree (agreement ${t.agreement})`
                : `workflow completed: ${total} step${total === 1 ? "" : "s"}${failed.length ? ` (${failed.join(", ")})` : ""}`,
              data: result,
              progress: total,
              total,
            },
            { output, result },
          );
        }
      }
      const reason = signal.reason as Stop;
      // Stop the children still running (a shutdown leaves them to the executor's close, and the restart).
      if (reason.kind !== "shutdown") {
        await Promise.all([...live.children.values()].map((id) => executor.cancel(id, `its workflow ${reason.kind === "failed" ? "failed" : reason.kind === "timeout" ? "timed out" : "was cancelled"}`).catch(() => undefined)));
      }
      await Promise.allSettled([...inflight.values()]);
      if (reason.kind === "shutdown") return;
      const now = clock.now();
      const rowsNow = new Map((await store.steps(workflowId)).map((r) => [r.stepId, r]));
      switch (reason.kind) {
        case "ended":
          await store.skipUnfinished(workflowId, "the workflow ended", now);
          return;
        case "cancelled": {
          const message = `cancelled: ${reason.message}`;
          await store.skipUnfinished(workflowId, message, now);
          for (const r of rowsNow.values()) if (r.state === "pending" || r.state === "running") Object.assign(r, { state: "skipped", error: message });
          return await finish(workflowId, { type: "cancelled", state: "cancelled", message, data: summary(def, rowsNow) }, { error: message, result: summary(def, rowsNow) });
        }
        case "timeout":
        case "failed": {
          const message = reason.kind === "timeout" ? `timed out after ${reason.seconds} s (payload.timeout_seconds, at most MESHAI_WORKFLOW_TIMEOUT); unfinished steps were stopped` : reason.message;
          await store.skipUnfinished(workflowId, reason.kind === "timeout" ? "the workflow timed out" : "an earlier step failed", now);
          const after = new Map((await store.steps(workflowId)).map((r) => [r.stepId, r]));
          return await finish(workflowId, { type: "failed", state: "failed", message, data: summary(def, after) }, { error: message, result: summary(def, after), output: finalOutput(def, after) });
        }
      }
    } finally {
      clearTimeout(timer);
    }
  }

  function launch(workflowId: string): void {
    if (running.has(workflowId)) return;
    const live: Live = { controller: new AbortController(), children: new Map(), done: Promise.resolve() };
    // Every running step follows its child task on this signal.
    setMaxListeners(limits.maxFanOut + 16, live.controller.signal);
    live.done = run(workflowId, live)
      .catch(async (e) => {
        if (live.controller.signal.reason?.kind === "shutdown") return;
        const message = `internal error: ${e instanceof Error ? e.message : String(e)}`;
        await finish(workflowId, { type: "failed", state: "failed", message }, { error: message }).catch(() => undefined);
      })
      .finally(() => running.delete(workflowId));
    running.set(workflowId, live);
  }

  /** Takes over the workflows nobody runs (released at shutdown, or whose process died) and resumes them. */
  async function resumeOrphans(atStart = false): Promise<void> {
    if (closed) return;
    const now = clock.now();
    const staleBefore = atStart && o.takeOverAtStart ? Number.MAX_SAFE_INTEGER : now - o.staleAfterMs;
    for (const id of await store.claimable(staleBefore)) {
      if (running.has(id) || closed) continue;
      if (!(await store.claim(id, runnerId, now, staleBefore))) continue;
      const steps = await store.steps(id);
      const done = steps.filter((s) => s.state === "completed" || s.state === "failed" || s.state === "skipped").length;
      try {
        await emit(id, { type: "progress", state: "executing", message: `workflow resumed by a new MeshAI process: ${done} of ${steps.length} steps already done; finished steps are not run again`, progress: done, total: steps.length });
      } catch (e) {
        if (e instanceof TaskEndedError) continue;
        throw e;
      }
      launch(id);
    }
  }

  async function tick(): Promise<void> {
    ticks++;
    const ids = [...running.keys()];
    await tasks.heartbeat(ids, runnerId, clock.now());
    for (const id of await tasks.endedAmong(ids)) running.get(id)?.controller.abort({ kind: "ended" } satisfies Stop);
    if (ticks % 3 === 0) await resumeOrphans();
  }

  return {
    /** Resumes the workflows a stopped process left unfinished and starts the heartbeat. */
    async start(): Promise<void> {
      await resumeOrphans(true);
      timer = setInterval(() => void tick().catch(() => undefined), o.heartbeatMs);
      timer.unref();
    },

    /** Persists the workflow (or finds the one with the same idempotency key) and starts it. */
    async submit(owner: string, def: WorkflowDefinition, request: Record<string, unknown>, idempotencyKey: string): Promise<{ task: TaskRecord; created: boolean }> {
      if (closed) throw new ConnectError("the server is shutting down; submit the workflow again after restart", Code.Unavailable);
      const existingFor = async () => {
        const existing = idempotencyKey ? await tasks.byIdempotencyKey(owner, idempotencyKey) : undefined;
        if (existing && existing.kind !== "workflow") throw new ConnectError(`idempotency_key: already used by task ${existing.id}, which is not a workflow`, Code.AlreadyExists);
        return existing;
      };
      const existing = await existingFor();
      if (existing) return { task: existing, created: false };
      const now = clock.now();
      const task: TaskRecord = {
        id: newId("wfl"),
        kind: "workflow",
        state: "pending",
        owner,
        input: def.type,
        request,
        capabilities: [...new Set(def.steps.flatMap((s) => s.capabilities))],
        agentId: null,
        output: "",
        result: null,
        error: "",
        lastSeq: 0,
        parentId: null,
        idempotencyKey: idempotencyKey || null,
        createdAt: now,
        updatedAt: now,
        endedAt: null,
        runnerId,
        heartbeatAt: now,
      };
      try {
        await tasks.insert(task);
      } catch (e) {
        const again = await existingFor();
        if (again) return { task: again, created: false };
        throw e;
      }
      await store.insert({ taskId: task.id, type: def.type, definition: def, deadlineAt: now + def.timeoutSeconds * 1000, createdAt: now }, def.steps.map((s) => s.id));
      await emit(task.id, {
        type: "accepted",
        state: "pending",
        message: `${def.type} workflow accepted: ${def.steps.length} step${def.steps.length === 1 ? "" : "s"} (${def.steps.map((s) => s.id).join(", ")})`,
        total: def.steps.length,
        data: { workflow_type: def.type, steps: def.steps.map((s) => ({ id: s.id, depends_on: s.dependsOn })) },
      });
      launch(task.id);
      return { task: (await tasks.byId(task.id)) ?? task, created: true };
    },

    isRunningHere: (id: string) => running.has(id),

    /** Stops running steps (their agent calls too) and skips the rest; a workflow another process runs is ended in the table, which that process notices. */
    async cancel(workflowId: string, reason: string): Promise<void> {
      const live = running.get(workflowId);
      if (live) {
        live.controller.abort({ kind: "cancelled", message: reason } satisfies Stop);
        await Promise.race([live.done, new Promise((r) => setTimeout(r, 10_000).unref())]);
        return;
      }
      const message = `cancelled: ${reason}`;
      await finish(workflowId, { type: "cancelled", state: "cancelled", message }, { error: message });
      await store.skipUnfinished(workflowId, message, clock.now());
    },

    /** Stops every workflow here without ending it and releases it, so the next process resumes it at once. */
    async close(): Promise<void> {
      closed = true;
      if (timer) clearInterval(timer);
      const ids = [...running.keys()];
      const runs = [...running.values()];
      for (const r of runs) r.controller.abort({ kind: "shutdown" } satisfies Stop);
      await Promise.race([Promise.all(runs.map((r) => r.done)), new Promise((r) => setTimeout(r, 5_000).unref())]);
      await store.release(ids, runnerId).catch(() => undefined);
    },
  };
}

export type WorkflowRunner = ReturnType<typeof createWorkflowRunner>;

import { Code, ConnectError } from "@connectrpc/connect";
import { referencesOf } from "./template.js";

/** What a step does when its last try has failed. */
export type OnError = "fail" | "skip" | "continue";

/** One step after validation: every workflow type is run as a graph of these. */
export interface StepDefinition {
  id: string;
  /** The step's task text; may hold {{...}} references (template.ts). */
  task: string;
  capabilities: string[];
  /** The agent to try first (empty: routed by capabilities). */
  agent: string;
  /** Tried in order after `agent` (or the routed agent) has used up its retries. */
  fallbackAgents: string[];
  /** 0: the server's per-task default. */
  timeoutSeconds: number;
  /** Extra tries on the same candidate after a failure. */
  retries: number;
  onError: OnError;
  dependsOn: string[];
  context: Record<string, unknown>;
}

export interface WorkflowDefinition {
  type: string;
  /** The workflow's input, for {{input.<field>}}. */
  input: Record<string, unknown>;
  steps: StepDefinition[];
  /** Whole-workflow limit in seconds (already capped by the server's). */
  timeoutSeconds: number;
  /** When non-empty, only these agents may take part (SubmitWorkflowRequest.agents). */
  allowedAgents: string[];
  /** The steps whose outputs make the workflow's output, in order. */
  outputSteps: string[];
}

export interface WorkflowLimits {
  maxSteps: number;
  /** The most steps that may run at once (the width of a parallel or a DAG level). */
  maxFanOut: number;
  /** The longest a workflow may run, in seconds. */
  maxRunSeconds: number;
  /** The largest per-step timeout (the server's per-task limit). */
  maxStepTimeoutSeconds: number;
}

export const WORKFLOW_TYPES = ["sequential", "parallel", "dag"] as const;

const STEP_ID = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
const CAPABILITY = /^[a-z][a-z0-9_.:-]{0,63}$/;
const AGENT_ID = /^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$/;
const MAX_TASK_CHARS = 200_000;
const MAX_RETRIES = 5;

function invalid(field: string, why: string): ConnectError {
  return new ConnectError(`${field}: ${why}`, Code.InvalidArgument);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function str(v: unknown, field: string, opts: { required?: boolean; max?: number } = {}): string {
  if (v === undefined || v === null) {
    if (opts.required) throw invalid(field, "is required");
    return "";
  }
  if (typeof v !== "string") throw invalid(field, `must be a string, not ${Array.isArray(v) ? "an array" : typeof v}`);
  const s = v.trim();
  if (opts.required && !s) throw invalid(field, "is required and must not be empty");
  if (opts.max && s.length > opts.max) throw invalid(field, `must be at most ${opts.max} characters`);
  return s;
}

function strList(v: unknown, field: string, pattern: RegExp, what: string, max: number): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw invalid(field, "must be an array of strings");
  if (v.length > max) throw invalid(field, `may list at most ${max} entries`);
  const out: string[] = [];
  v.forEach((x, i) => {
    if (typeof x !== "string" || !pattern.test(x.trim())) throw invalid(`${field}[${i}]`, `${JSON.stringify(x)} is not ${what}`);
    if (!out.includes(x.trim())) out.push(x.trim());
  });
  return out;
}

function int(v: unknown, field: string, min: number, max: number): number {
  if (v === undefined || v === null) return 0;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) throw invalid(field, `must be a whole number from ${min} to ${max}`);
  return v;
}

const STEP_KEYS = new Set(["id", "task", "capabilities", "agent", "agents", "fallback_agents", "timeout_seconds", "retries", "on_error", "depends_on", "context"]);

function parseStep(raw: unknown, field: string, defaultId: string, limits: WorkflowLimits, allowDependsOn: boolean): StepDefinition {
  if (!isObject(raw)) throw invalid(field, "must be an object like {\"task\": \"...\", \"capabilities\": [...]} ");
  for (const k of Object.keys(raw)) if (!STEP_KEYS.has(k)) throw invalid(`${field}.${k}`, `unknown field (a step has ${[...STEP_KEYS].join(", ")})`);
  const id = raw.id === undefined ? defaultId : str(raw.id, `${field}.id`, { required: true });
  if (!STEP_ID.test(id)) throw invalid(`${field}.id`, `${JSON.stringify(id)} must start with a letter and use only letters, digits, _ and - (at most 64)`);
  const task = str(raw.task, `${field}.task`, { required: true, max: MAX_TASK_CHARS });
  const capabilities = strList(raw.capabilities, `${field}.capabilities`, CAPABILITY, "a capability name (e.g. code_generation)", 16);
  let agent = raw.agent === undefined ? "" : str(raw.agent, `${field}.agent`);
  if (agent && !AGENT_ID.test(agent)) throw invalid(`${field}.agent`, `${JSON.stringify(agent)} is not an agent id`);
  // `agents` is accepted as the same thing as agent + fallback_agents.
  const listed = strList(raw.agents, `${field}.agents`, AGENT_ID, "an agent id", 8);
  let fallbackAgents = strList(raw.fallback_agents, `${field}.fallback_agents`, AGENT_ID, "an agent id", 8);
  if (listed.length) {
    if (agent) throw invalid(`${field}.agents`, "give either agent (+ fallback_agents) or agents, not both");
    agent = listed[0]!;
    fallbackAgents = [...listed.slice(1), ...fallbackAgents.filter((a) => !listed.includes(a))];
  }
  fallbackAgents = fallbackAgents.filter((a) => a !== agent);
  const onError = raw.on_error === undefined ? "fail" : raw.on_error;
  if (onError !== "fail" && onError !== "skip" && onError !== "continue") throw invalid(`${field}.on_error`, `must be "fail", "skip" or "continue", not ${JSON.stringify(onError)}`);
  if (raw.depends_on !== undefined && !allowDependsOn) throw invalid(`${field}.depends_on`, "only dag workflows take depends_on (sequential runs steps in order, parallel all at once)");
  const dependsOn = strList(raw.depends_on, `${field}.depends_on`, STEP_ID, "a step id", limits.maxSteps);
  if (raw.context !== undefined && !isObject(raw.context)) throw invalid(`${field}.context`, "must be an object");
  return {
    id,
    task,
    capabilities,
    agent,
    fallbackAgents,
    timeoutSeconds: int(raw.timeout_seconds, `${field}.timeout_seconds`, 1, limits.maxStepTimeoutSeconds),
    retries: int(raw.retries, `${field}.retries`, 0, MAX_RETRIES),
    onError,
    dependsOn,
    context: (raw.context as Record<string, unknown>) ?? {},
  };
}

/** Rejects a dependency cycle, naming it: "a -> b -> a". */
export function findCycle(steps: StepDefinition[]): string[] | null {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const state = new Map<string, 1 | 2>();
  const path: string[] = [];
  const visit = (id: string): string[] | null => {
    if (state.get(id) === 2) return null;
    if (state.get(id) === 1) return [...path.slice(path.indexOf(id)), id];
    state.set(id, 1);
    path.push(id);
    for (const d of byId.get(id)?.dependsOn ?? []) {
      const c = visit(d);
      if (c) return c;
    }
    path.pop();
    state.set(id, 2);
    return null;
  };
  for (const s of steps) {
    const c = visit(s.id);
    if (c) return c;
  }
  return null;
}

/** Every step each step (transitively) depends on. */
function ancestors(steps: StepDefinition[]): Map<string, Set<string>> {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const memo = new Map<string, Set<string>>();
  const of = (id: string): Set<string> => {
    let set = memo.get(id);
    if (set) return set;
    set = new Set();
    memo.set(id, set);
    for (const d of byId.get(id)!.dependsOn) {
      set.add(d);
      for (const a of of(d)) set.add(a);
    }
    return set;
  };
  for (const s of steps) of(s.id);
  return memo;
}

/** Depth of each step (0 for those without dependencies): the width of a level is how many may run at once. */
function widestLevel(steps: StepDefinition[]): number {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const depth = new Map<string, number>();
  const of = (id: string): number => {
    const known = depth.get(id);
    if (known !== undefined) return known;
    const d = Math.max(-1, ...byId.get(id)!.dependsOn.map(of)) + 1;
    depth.set(id, d);
    return d;
  };
  const counts = new Map<number, number>();
  for (const s of steps) counts.set(of(s.id), (counts.get(of(s.id)) ?? 0) + 1);
  return Math.max(0, ...counts.values());
}

/**
 * Checks a SubmitWorkflow payload up front and turns it into steps with
 * dependencies; throws InvalidArgument naming the bad field
 * (e.g. "payload.steps[2].depends_on[0]: ...").
 *
 * - sequential: {steps: [...]} run in order (each depends on the one before).
 * - parallel: {steps: [...], aggregator?: step} all at once; the aggregator runs after all of them.
 * - dag: {steps: [{..., depends_on: [ids]}]} any acyclic graph.
 * Each also takes input (an object for {{input.<field>}}) and timeout_seconds;
 * {task, capabilities?, context?} alone is a one-step workflow.
 */
export function parseWorkflow(type: string, payload: Record<string, unknown>, allowedAgents: string[], limits: WorkflowLimits): WorkflowDefinition {
  if (!(WORKFLOW_TYPES as readonly string[]).includes(type)) {
    throw invalid("workflow_type", `${JSON.stringify(type)} is not a workflow type this server runs (${WORKFLOW_TYPES.join(", ")})`);
  }
  const topKeys = new Set(["steps", "aggregator", "input", "timeout_seconds", "task", "capabilities", "context", "agent", "agents"]);
  for (const k of Object.keys(payload)) if (!topKeys.has(k)) throw invalid(`payload.${k}`, `unknown field for a ${type} workflow (expected steps, input, timeout_seconds${type === "parallel" ? ", aggregator" : ""})`);
  let rawSteps = payload.steps;
  if (rawSteps === undefined && payload.task !== undefined) {
    // The shorthand a model sends: one step with this task.
    rawSteps = [{ id: "task", task: payload.task, capabilities: payload.capabilities, context: payload.context, ...(payload.agent !== undefined ? { agent: payload.agent } : {}), ...(payload.agents !== undefined ? { agents: payload.agents } : {}) }];
  } else if (payload.task !== undefined) {
    throw invalid("payload.task", "give either steps or task (a one-step workflow), not both");
  }
  if (!Array.isArray(rawSteps) || rawSteps.length === 0) throw invalid("payload.steps", "is required: a non-empty array of steps like {\"task\": \"...\", \"capabilities\": [...]}");
  if (rawSteps.length > limits.maxSteps) throw invalid("payload.steps", `has ${rawSteps.length} steps; this server allows at most ${limits.maxSteps} (MESHAI_WORKFLOW_MAX_STEPS)`);
  if (payload.input !== undefined && !isObject(payload.input)) throw invalid("payload.input", "must be an object (its fields are {{input.<field>}})");
  const input = (payload.input as Record<string, unknown>) ?? {};
  if (JSON.stringify(input).length > 1_000_000) throw invalid("payload.input", "must be at most 1 MB of JSON");
  const timeoutSeconds = int(payload.timeout_seconds, "payload.timeout_seconds", 1, limits.maxRunSeconds) || limits.maxRunSeconds;

  const steps = rawSteps.map((s, i) => parseStep(s, `payload.steps[${i}]`, `step${i + 1}`, limits, type === "dag"));
  let outputSteps: string[];
  if (type === "sequential") {
    steps.forEach((s, i) => (s.dependsOn = i === 0 ? [] : [steps[i - 1]!.id]));
    outputSteps = [steps.at(-1)!.id];
  } else if (type === "parallel") {
    if (steps.length > limits.maxFanOut) throw invalid("payload.steps", `fans out to ${steps.length} steps at once; this server allows at most ${limits.maxFanOut} (MESHAI_WORKFLOW_MAX_FAN_OUT)`);
    outputSteps = steps.map((s) => s.id);
    if (payload.aggregator !== undefined) {
      const agg = parseStep(payload.aggregator, "payload.aggregator", "aggregator", limits, false);
      agg.dependsOn = steps.map((s) => s.id);
      steps.push(agg);
      if (steps.length > limits.maxSteps) throw invalid("payload.aggregator", `makes ${steps.length} steps; this server allows at most ${limits.maxSteps}`);
      outputSteps = [agg.id];
    }
  } else {
    outputSteps = [];
  }
  if (payload.aggregator !== undefined && type !== "parallel") throw invalid("payload.aggregator", "only parallel workflows take an aggregator (in a dag, add a step that depends on the others)");

  const seen = new Map<string, number>();
  steps.forEach((s, i) => {
    const field = s.id === "aggregator" && type === "parallel" && i === steps.length - 1 && payload.aggregator !== undefined ? "payload.aggregator.id" : `payload.steps[${i}].id`;
    if (seen.has(s.id)) throw invalid(field, `${JSON.stringify(s.id)} is used by another step too; step ids must be unique`);
    seen.set(s.id, i);
  });
  const fieldOf = (s: StepDefinition) => (type === "parallel" && payload.aggregator !== undefined && s === steps.at(-1) ? "payload.aggregator" : `payload.steps[${seen.get(s.id)}]`);
  for (const s of steps) {
    s.dependsOn.forEach((d, j) => {
      if (!seen.has(d)) throw invalid(`${fieldOf(s)}.depends_on[${j}]`, `no step has the id ${JSON.stringify(d)}`);
      if (d === s.id) throw invalid(`${fieldOf(s)}.depends_on[${j}]`, `step ${s.id} cannot depend on itself`);
    });
  }
  const cycle = findCycle(steps);
  if (cycle) throw invalid("payload.steps", `depends_on forms a cycle: ${cycle.join(" -> ")}; a dag must have none`);
  if (type === "dag") {
    const width = widestLevel(steps);
    if (width > limits.maxFanOut) throw invalid("payload.steps", `fans out to ${width} steps at once; this server allows at most ${limits.maxFanOut} (MESHAI_WORKFLOW_MAX_FAN_OUT)`);
    const depended = new Set(steps.flatMap((s) => s.dependsOn));
    outputSteps = steps.filter((s) => !depended.has(s.id)).map((s) => s.id);
  }

  // Agents: a step's agents must be among the request's `agents` when it names any.
  for (const s of steps) {
    for (const a of [s.agent, ...s.fallbackAgents].filter(Boolean)) {
      if (allowedAgents.length && !allowedAgents.includes(a)) throw invalid(`${fieldOf(s)}.agent`, `${a} is not among the request's agents (${allowedAgents.join(", ")})`);
    }
  }

  // References: only to the workflow's input and to steps this one (transitively) waits for.
  const before = ancestors(steps);
  for (const s of steps) {
    const field = `${fieldOf(s)}.task`;
    let refs;
    try {
      refs = referencesOf(s.task);
    } catch (e) {
      throw invalid(field, (e as Error).message);
    }
    for (const r of refs) {
      if (r.kind === "step" && !before.get(s.id)!.has(r.step)) {
        throw invalid(field, seen.has(r.step) ? `{{${r.text}}} refers to step ${r.step}, which this step does not wait for${type === "dag" ? " (add it to depends_on)" : ""}` : `{{${r.text}}} refers to no step (ids: ${[...seen.keys()].join(", ")})`);
      }
      if (r.kind === "previous" && s.dependsOn.length !== 1) {
        throw invalid(field, s.dependsOn.length === 0 ? `{{${r.text}}}: this step has no previous step` : `{{${r.text}}}: this step waits for ${s.dependsOn.length} steps; name one with {{steps.<id>.output}}`);
      }
      if (r.kind === "input" && r.path.length && !hasPath(input, r.path)) {
        throw invalid(field, `{{${r.text}}}: payload.input has no field ${r.path.join(".")}`);
      }
    }
  }
  return { type, input, steps, timeoutSeconds, allowedAgents, outputSteps };
}

function hasPath(obj: unknown, path: string[]): boolean {
  let cur = obj;
  for (const p of path) {
    if (!isObject(cur) || !(p in cur)) return false;
    cur = cur[p];
  }
  return true;
}

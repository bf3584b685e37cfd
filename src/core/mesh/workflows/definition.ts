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
  /** {{item}} and {{index}} of a map step (map_reduce) or a worker (hierarchical). */
  vars?: Record<string, string>;
}

/** consensus: which steps voted, and who decides. */
export interface ConsensusRule {
  method: "majority" | "judge";
  voters: string[];
  judge?: string;
}

/** hierarchical: the manager's plan step grows worker steps when it finishes; the synthesis then waits for them. */
export interface ExpandRule {
  planStep: string;
  synthStep: string;
  maxSubtasks: number;
  /** The template of each worker step (task "{{item}}"). */
  worker: StepDefinition;
  /** Workers take the sub-tasks in turn (empty: routed by the worker capabilities). */
  agents: string[];
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
  consensus?: ConsensusRule;
  expand?: ExpandRule;
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

export const WORKFLOW_TYPES = ["sequential", "parallel", "dag", "consensus", "hierarchical", "map_reduce"] as const;

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

type Built = { steps: StepDefinition[]; fields: Map<StepDefinition, string>; outputSteps: string[]; consensus?: ConsensusRule; expand?: ExpandRule };

function topLevel(payload: Record<string, unknown>, type: string, allowed: string[]): void {
  const keys = new Set([...allowed, "input", "timeout_seconds"]);
  for (const k of Object.keys(payload)) {
    if (!keys.has(k)) throw invalid(`payload.${k}`, `unknown field for a ${type} workflow (it takes ${[...keys].join(", ")})`);
  }
}

/** Steps given as a list (sequential, parallel, dag), or {task, ...} as one step: what a model sends. */
function listedSteps(type: string, payload: Record<string, unknown>, limits: WorkflowLimits): Built {
  topLevel(payload, type, ["steps", "task", "capabilities", "context", "agent", "agents", ...(type === "parallel" ? ["aggregator"] : [])]);
  let rawSteps = payload.steps;
  if (rawSteps === undefined && payload.task !== undefined) {
    rawSteps = [{ id: "task", task: payload.task, capabilities: payload.capabilities, context: payload.context, ...(payload.agent !== undefined ? { agent: payload.agent } : {}), ...(payload.agents !== undefined ? { agents: payload.agents } : {}) }];
  } else if (payload.task !== undefined) {
    throw invalid("payload.task", "give either steps or task (a one-step workflow), not both");
  }
  if (!Array.isArray(rawSteps) || rawSteps.length === 0) throw invalid("payload.steps", "is required: a non-empty array of steps like {\"task\": \"...\", \"capabilities\": [...]}");
  if (rawSteps.length > limits.maxSteps) throw invalid("payload.steps", `has ${rawSteps.length} steps; this server allows at most ${limits.maxSteps} (MESHAI_WORKFLOW_MAX_STEPS)`);
  const fields = new Map<StepDefinition, string>();
  const steps = rawSteps.map((s, i) => {
    const step = parseStep(s, `payload.steps[${i}]`, `step${i + 1}`, limits, type === "dag");
    fields.set(step, `payload.steps[${i}]`);
    return step;
  });
  let outputSteps: string[] = [];
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
      fields.set(agg, "payload.aggregator");
      if (steps.length > limits.maxSteps) throw invalid("payload.aggregator", `makes ${steps.length} steps; this server allows at most ${limits.maxSteps}`);
      outputSteps = [agg.id];
    }
  } else {
    // dag: the outputs are the steps nothing waits for; its width is checked once the graph is known to be acyclic.
    const depended = new Set(steps.flatMap((s) => s.dependsOn));
    outputSteps = steps.filter((s) => !depended.has(s.id)).map((s) => s.id);
  }
  return { steps, fields, outputSteps };
}

/** The agents a type spreads its work over: payload.agents, else the request's agents. */
function pool(payload: Record<string, unknown>, field: string, allowedAgents: string[]): string[] {
  const given = strList(payload.agents, field, AGENT_ID, "an agent id", 32);
  return given.length ? given : allowedAgents;
}

const DEFAULT_JUDGE =
  "Several agents answered the same task independently.\n\nTask:\n{{input.task}}\n\nTheir answers:\n{{dependencies}}\n\n" +
  "Decide which answer is correct (or best), say how far the answers agree, and give the final answer.";

/** consensus: {task, agents: [>= 2 ids] | voters: n with capabilities, method: majority|judge, judge?: step} */
function consensusSteps(payload: Record<string, unknown>, allowedAgents: string[], limits: WorkflowLimits, input: Record<string, unknown>): Built {
  topLevel(payload, "consensus", ["task", "agents", "voters", "capabilities", "context", "method", "judge", "retries", "timeout_seconds_per_agent"]);
  const task = str(payload.task, "payload.task", { required: true, max: MAX_TASK_CHARS });
  const capabilities = strList(payload.capabilities, "payload.capabilities", CAPABILITY, "a capability name (e.g. code_generation)", 16);
  const agents = pool(payload, "payload.agents", allowedAgents);
  const voters = payload.voters === undefined ? agents.length : int(payload.voters, "payload.voters", 2, limits.maxFanOut);
  if (agents.length === 0 && payload.voters === undefined) throw invalid("payload.agents", "list at least 2 agents to ask (or give voters: n with capabilities)");
  if (voters < 2) throw invalid("payload.agents", "a consensus needs at least 2 agents");
  if (agents.length === 0 && capabilities.length === 0) throw invalid("payload.capabilities", "name the capabilities voters need when no agents are listed");
  if (voters > limits.maxFanOut) throw invalid("payload.agents", `asks ${voters} agents at once; this server allows at most ${limits.maxFanOut} (MESHAI_WORKFLOW_MAX_FAN_OUT)`);
  if (payload.context !== undefined && !isObject(payload.context)) throw invalid("payload.context", "must be an object");
  const method = payload.method === undefined ? (payload.judge !== undefined ? "judge" : "majority") : payload.method;
  if (method !== "majority" && method !== "judge") throw invalid("payload.method", `must be "majority" or "judge", not ${JSON.stringify(method)}`);
  if (method === "judge" && payload.judge === undefined) throw invalid("payload.judge", "is required with method judge: {agent: ...} or {capabilities: [...]}, optionally with its own task");
  const retries = int(payload.retries, "payload.retries", 0, MAX_RETRIES);
  const perAgent = int(payload.timeout_seconds_per_agent, "payload.timeout_seconds_per_agent", 1, limits.maxStepTimeoutSeconds);
  input.task = task;
  const fields = new Map<StepDefinition, string>();
  const steps: StepDefinition[] = [];
  for (let i = 0; i < voters; i++) {
    const agent = agents.length ? agents[i % agents.length]! : "";
    const step: StepDefinition = {
      id: `voter${i + 1}`,
      task: "{{input.task}}",
      capabilities,
      agent,
      fallbackAgents: [],
      timeoutSeconds: perAgent,
      retries,
      onError: "continue",
      dependsOn: [],
      context: (payload.context as Record<string, unknown>) ?? {},
    };
    steps.push(step);
    fields.set(step, agents.length ? `payload.agents[${i % agents.length}]` : "payload.voters");
  }
  let judge: string | undefined;
  if (method === "judge") {
    const raw = isObject(payload.judge) ? { task: DEFAULT_JUDGE, ...payload.judge } : payload.judge;
    const j = parseStep(raw, "payload.judge", "judge", limits, false);
    j.dependsOn = steps.map((s) => s.id);
    steps.push(j);
    fields.set(j, "payload.judge");
    judge = j.id;
  }
  return { steps, fields, outputSteps: [judge ?? steps[0]!.id], consensus: { method, voters: steps.filter((s) => s.id !== judge).map((s) => s.id), judge } };
}

/** map_reduce: {items: [...] | text + split, map: step with {{item}}, reduce?: step, agents?} */
function mapReduceSteps(payload: Record<string, unknown>, allowedAgents: string[], limits: WorkflowLimits): Built {
  topLevel(payload, "map_reduce", ["items", "text", "split", "map", "reduce", "agents"]);
  let items: unknown[];
  if (payload.items !== undefined) {
    if (payload.text !== undefined) throw invalid("payload.text", "give either items or text (with split), not both");
    if (!Array.isArray(payload.items)) throw invalid("payload.items", "must be an array (each item becomes one map step)");
    items = payload.items;
  } else {
    const text = str(payload.text, "payload.text", { required: true, max: 1_000_000 });
    const split = payload.split ?? "lines";
    if (split !== "lines" && split !== "paragraphs") throw invalid("payload.split", `must be "lines" or "paragraphs", not ${JSON.stringify(split)}`);
    items = (split === "lines" ? text.split(/\r?\n/) : text.split(/\r?\n\s*\r?\n/)).map((x) => x.trim()).filter(Boolean);
  }
  if (items.length === 0) throw invalid(payload.items !== undefined ? "payload.items" : "payload.text", "has no items to map");
  if (items.length + 1 > limits.maxSteps) throw invalid(payload.items !== undefined ? "payload.items" : "payload.text", `has ${items.length} items; this server allows at most ${limits.maxSteps - 1} (MESHAI_WORKFLOW_MAX_STEPS)`);
  if (payload.map === undefined) throw invalid("payload.map", "is required: a step whose task uses {{item}}, e.g. {\"task\": \"summarise: {{item}}\", \"capabilities\": [...]}");
  const template = parseStep(payload.map, "payload.map", "map", limits, false);
  const agents = template.agent ? [template.agent, ...template.fallbackAgents] : pool(payload, "payload.agents", allowedAgents);
  const fields = new Map<StepDefinition, string>();
  const steps = items.map((item, i) => {
    // Items are spread over the agents in turn; the others stand by as fallbacks.
    const rotated = agents.length ? [...agents.slice(i % agents.length), ...agents.slice(0, i % agents.length)] : [];
    const step: StepDefinition = {
      ...template,
      id: `map${i + 1}`,
      agent: rotated[0] ?? "",
      fallbackAgents: rotated.slice(1),
      vars: { item: typeof item === "string" ? item : JSON.stringify(item), index: String(i + 1) },
      dependsOn: [],
    };
    fields.set(step, "payload.map");
    return step;
  });
  let outputSteps = steps.map((s) => s.id);
  if (payload.reduce !== undefined) {
    const reduce = parseStep(payload.reduce, "payload.reduce", "reduce", limits, false);
    reduce.dependsOn = steps.map((s) => s.id);
    steps.push(reduce);
    fields.set(reduce, "payload.reduce");
    outputSteps = [reduce.id];
  }
  return { steps, fields, outputSteps };
}

const DEFAULT_PLAN =
  "You are the manager of a team of agents. Break this task into at most {{max_subtasks}} independent sub-tasks that workers can do " +
  "in parallel. Answer ONLY with a JSON array of strings, one sub-task each.\n\nTask:\n{{input.task}}";
const DEFAULT_SYNTHESIS = "You are the manager. Your workers did the sub-tasks of this task:\n{{input.task}}\n\nTheir results:\n{{dependencies}}\n\nWrite the final answer.";

/** hierarchical: {task, manager: {agent|capabilities}, workers?: {agents|capabilities}, max_subtasks?} */
function hierarchicalSteps(payload: Record<string, unknown>, allowedAgents: string[], limits: WorkflowLimits, input: Record<string, unknown>): Built {
  topLevel(payload, "hierarchical", ["task", "manager", "workers", "max_subtasks", "capabilities", "context"]);
  const task = str(payload.task, "payload.task", { required: true, max: MAX_TASK_CHARS });
  input.task = task;
  // {task, capabilities} alone (what mesh_execute sends): agents with those capabilities manage and work.
  const shared = payload.capabilities !== undefined ? { capabilities: payload.capabilities, ...(payload.context !== undefined ? { context: payload.context } : {}) } : undefined;
  if (payload.manager === undefined && shared) payload = { ...payload, manager: shared, workers: payload.workers ?? shared };
  if (!isObject(payload.manager)) throw invalid("payload.manager", "is required: {\"agent\": \"...\"} or {\"capabilities\": [...]}");
  const maxSubtasks = int(payload.max_subtasks, "payload.max_subtasks", 1, Math.min(limits.maxFanOut, limits.maxSteps - 2)) || Math.min(5, limits.maxFanOut, limits.maxSteps - 2);
  if (maxSubtasks < 1) throw invalid("payload", `MESHAI_WORKFLOW_MAX_STEPS (${limits.maxSteps}) leaves no room for workers`);
  const { task: _ignored, ...managerRest } = payload.manager;
  const plan = parseStep({ ...managerRest, task: DEFAULT_PLAN.replace("{{max_subtasks}}", String(maxSubtasks)) }, "payload.manager", "plan", limits, false);
  const synth = parseStep({ ...managerRest, task: DEFAULT_SYNTHESIS }, "payload.manager", "synthesis", limits, false);
  synth.dependsOn = [plan.id];
  const workersRaw = payload.workers === undefined ? {} : payload.workers;
  if (!isObject(workersRaw)) throw invalid("payload.workers", "must be an object: {\"agents\": [...]} or {\"capabilities\": [...]}");
  const workerTemplate = parseStep({ ...workersRaw, task: "{{item}}" }, "payload.workers", "worker", limits, false);
  const agents = workerTemplate.agent ? [workerTemplate.agent, ...workerTemplate.fallbackAgents] : allowedAgents;
  // Neither agents nor capabilities: each sub-task is routed by the capabilities inferred from its text.
  const fields = new Map<StepDefinition, string>([
    [plan, "payload.manager"],
    [synth, "payload.manager"],
  ]);
  return {
    steps: [plan, synth],
    fields,
    outputSteps: [synth.id],
    expand: { planStep: plan.id, synthStep: synth.id, maxSubtasks, worker: { ...workerTemplate, agent: "", fallbackAgents: [] }, agents },
  };
}

/**
 * Checks a SubmitWorkflow payload up front and turns it into steps with
 * dependencies; throws InvalidArgument naming the bad field
 * (e.g. "payload.steps[2].depends_on[0]: ..."). See docs/workflows.md.
 */
export function parseWorkflow(type: string, payload: Record<string, unknown>, allowedAgents: string[], limits: WorkflowLimits): WorkflowDefinition {
  if (!(WORKFLOW_TYPES as readonly string[]).includes(type)) {
    throw invalid("workflow_type", `${JSON.stringify(type)} is not a workflow type this server runs (${WORKFLOW_TYPES.join(", ")})`);
  }
  if (payload.input !== undefined && !isObject(payload.input)) throw invalid("payload.input", "must be an object (its fields are {{input.<field>}})");
  const input = { ...((payload.input as Record<string, unknown>) ?? {}) };
  if (JSON.stringify(input).length > 1_000_000) throw invalid("payload.input", "must be at most 1 MB of JSON");
  const timeoutSeconds = int(payload.timeout_seconds, "payload.timeout_seconds", 1, limits.maxRunSeconds) || limits.maxRunSeconds;

  const built =
    type === "consensus"
      ? consensusSteps(payload, allowedAgents, limits, input)
      : type === "map_reduce"
        ? mapReduceSteps(payload, allowedAgents, limits)
        : type === "hierarchical"
          ? hierarchicalSteps(payload, allowedAgents, limits, input)
          : listedSteps(type, payload, limits);
  const { steps, fields } = built;
  const fieldOf = (s: StepDefinition) => fields.get(s) ?? "payload";

  const seen = new Map<string, number>();
  for (const s of steps) {
    if (seen.has(s.id)) throw invalid(`${fieldOf(s)}.id`, `${JSON.stringify(s.id)} is used by another step too; step ids must be unique`);
    seen.set(s.id, seen.size);
  }
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
  }

  // Agents: a step's agents must be among the request's `agents` when it names any.
  for (const s of steps) {
    for (const a of [s.agent, ...s.fallbackAgents].filter(Boolean)) {
      if (allowedAgents.length && !allowedAgents.includes(a)) throw invalid(`${fieldOf(s)}.agent`, `${a} is not among the request's agents (${allowedAgents.join(", ")})`);
    }
  }
  for (const a of built.expand?.agents ?? []) {
    if (allowedAgents.length && !allowedAgents.includes(a)) throw invalid("payload.workers.agents", `${a} is not among the request's agents (${allowedAgents.join(", ")})`);
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
  return { type, input, steps, timeoutSeconds, allowedAgents, outputSteps: built.outputSteps, ...(built.consensus ? { consensus: built.consensus } : {}), ...(built.expand ? { expand: built.expand } : {}) };
}

function hasPath(obj: unknown, path: string[]): boolean {
  let cur = obj;
  for (const p of path) {
    if (!isObject(cur) || !(p in cur)) return false;
    cur = cur[p];
  }
  return true;
}

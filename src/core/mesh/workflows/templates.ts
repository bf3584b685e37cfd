import { Code, ConnectError } from "@connectrpc/connect";
import type { Knex } from "knex";
import { fromJson, toJson } from "../../store/rows.js";
import { parseWorkflow, WORKFLOW_TYPES, type WorkflowDefinition, type WorkflowLimits } from "./definition.js";

export interface TemplateParameter {
  name: string;
  description: string;
  required: boolean;
  /** Used when the parameter is not given (undefined: none). */
  default?: unknown;
}

export interface TemplateRecord {
  name: string;
  description: string;
  type: string;
  /** A SubmitWorkflow payload with "${params.<name>}" placeholders. */
  definition: Record<string, unknown>;
  parameters: TemplateParameter[];
  createdBy: string | null;
  createdAt: number;
  updatedAt: number;
}

const NAME = /^[A-Za-z][A-Za-z0-9_-]{0,127}$/;
const PARAM = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const PLACEHOLDER = /\$\{params\.([A-Za-z_][A-Za-z0-9_]*)\}/g;
const EXACT = /^\$\{params\.([A-Za-z_][A-Za-z0-9_]*)\}$/;

function invalid(field: string, why: string): ConnectError {
  return new ConnectError(`${field}: ${why}`, Code.InvalidArgument);
}

/** Stored parameters, read leniently: a bare string is a required parameter; no default means required unless said otherwise. */
function parametersFrom(raw: unknown): TemplateParameter[] {
  if (!Array.isArray(raw)) return [];
  return raw.flatMap((p): TemplateParameter[] => {
    if (typeof p === "string") return [{ name: p, description: "", required: true }];
    if (!p || typeof p !== "object") return [];
    const o = p as Record<string, unknown>;
    const hasDefault = o.default !== undefined && o.default !== null;
    return [{ name: String(o.name ?? ""), description: String(o.description ?? ""), required: o.required === undefined ? !hasDefault : o.required === true, ...(hasDefault ? { default: o.default } : {}) }];
  });
}

function fromRow(r: Record<string, unknown>): TemplateRecord {
  return {
    name: String(r.name),
    description: String(r.description ?? ""),
    type: String(r.type),
    definition: fromJson<Record<string, unknown>>(r.definition, {}),
    parameters: parametersFrom(fromJson<unknown>(r.parameters, [])),
    createdBy: r.created_by == null ? null : String(r.created_by),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

/** Every "${params.x}" a definition uses. */
function placeholders(value: unknown, out = new Set<string>()): Set<string> {
  if (typeof value === "string") for (const m of value.matchAll(PLACEHOLDER)) out.add(m[1]!);
  else if (Array.isArray(value)) for (const v of value) placeholders(v, out);
  else if (value && typeof value === "object") for (const v of Object.values(value)) placeholders(v, out);
  return out;
}

/** Replaces placeholders: a string that is only "${params.x}" becomes the value itself (any JSON); inside text, its text. */
function substitute(value: unknown, params: Record<string, unknown>): unknown {
  if (typeof value === "string") {
    const exact = EXACT.exec(value);
    if (exact) return params[exact[1]!];
    return value.replace(PLACEHOLDER, (_, name: string) => {
      const v = params[name];
      return typeof v === "string" ? v : JSON.stringify(v ?? "");
    });
  }
  if (Array.isArray(value)) return value.map((v) => substitute(v, params));
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, params)]));
  return value;
}

/** The definition a template makes with these parameter values; errors name payload.<parameter>. */
export function instantiate(t: TemplateRecord, given: Record<string, unknown>, allowedAgents: string[], limits: WorkflowLimits): WorkflowDefinition {
  const known = new Map(t.parameters.map((p) => [p.name, p]));
  for (const k of Object.keys(given)) {
    if (k === "timeout_seconds") continue;
    if (!known.has(k)) throw invalid(`payload.${k}`, `template ${t.name} has no parameter ${k} (its parameters: ${t.parameters.map((p) => p.name).join(", ") || "none"})`);
  }
  const values: Record<string, unknown> = {};
  for (const p of t.parameters) {
    const v = given[p.name] ?? p.default;
    if ((v === undefined || v === null || v === "") && p.required) throw invalid(`payload.${p.name}`, `is required by template ${t.name}${p.description ? ` (${p.description})` : ""}`);
    values[p.name] = v ?? "";
  }
  const payload = substitute(t.definition, values) as Record<string, unknown>;
  if (given.timeout_seconds !== undefined) payload.timeout_seconds = given.timeout_seconds;
  try {
    return parseWorkflow(t.type, payload, allowedAgents, limits);
  } catch (e) {
    const err = ConnectError.from(e);
    // A value the caller gave can break a step (e.g. text with {{...}}): say it is this template's payload.
    throw new ConnectError(`workflow_type: template ${t.name} cannot run with these parameters: ${err.rawMessage}`, Code.InvalidArgument);
  }
}

/** Checks a template before it is stored: its name, type, parameters, and that it makes a valid workflow. */
export function checkTemplate(t: Omit<TemplateRecord, "createdAt" | "updatedAt" | "createdBy">, limits: WorkflowLimits): void {
  if (!NAME.test(t.name)) throw invalid("template.name", `${JSON.stringify(t.name)} must start with a letter and use letters, digits, _ and - (at most 128)`);
  if ((WORKFLOW_TYPES as readonly string[]).includes(t.name.toLowerCase())) throw invalid("template.name", `${t.name} is a workflow type; choose another name`);
  if (!(WORKFLOW_TYPES as readonly string[]).includes(t.type)) throw invalid("template.workflow_type", `must be one of ${WORKFLOW_TYPES.join(", ")}`);
  if (t.description.length > 4000) throw invalid("template.description", "must be at most 4000 characters");
  if (t.parameters.length > 50) throw invalid("template.parameters", "may list at most 50 parameters");
  const names = new Set<string>();
  t.parameters.forEach((p, i) => {
    if (!PARAM.test(p.name)) throw invalid(`template.parameters[${i}].name`, `${JSON.stringify(p.name)} must be a letter or _ then letters, digits or _`);
    if (names.has(p.name)) throw invalid(`template.parameters[${i}].name`, `${p.name} is declared twice`);
    if (p.name === "timeout_seconds") throw invalid(`template.parameters[${i}].name`, "timeout_seconds is reserved (every template takes it)");
    names.add(p.name);
  });
  for (const used of placeholders(t.definition)) {
    if (!names.has(used)) throw invalid("template.definition", `\${params.${used}} is not a declared parameter (declared: ${[...names].join(", ") || "none"})`);
  }
  if (JSON.stringify(t.definition).length > 1_000_000) throw invalid("template.definition", "must be at most 1 MB of JSON");
  // A trial run of the schema with sample values: a broken template is refused now, not when someone runs it.
  const sample = Object.fromEntries(t.parameters.map((p) => [p.name, p.default ?? `sample ${p.name}`]));
  try {
    parseWorkflow(t.type, substitute(t.definition, sample) as Record<string, unknown>, [], limits);
  } catch (e) {
    const err = ConnectError.from(e);
    throw invalid("template.definition", err.rawMessage.replace(/^payload\.?/, "") || err.rawMessage);
  }
}

/** The workflow_templates table (the search index picks changes up by updated_at). */
export function createTemplateStore(knex: Knex) {
  return {
    async get(name: string): Promise<TemplateRecord | undefined> {
      const r = await knex("workflow_templates").where({ name }).first();
      return r ? fromRow(r) : undefined;
    },

    async list(offset: number, limit: number): Promise<TemplateRecord[]> {
      return (await knex("workflow_templates").orderBy("name", "asc").offset(offset).limit(limit)).map(fromRow);
    },

    /** Creates or replaces; returns the stored template. */
    async put(t: Omit<TemplateRecord, "createdAt" | "updatedAt">, now: number): Promise<TemplateRecord> {
      const cols = {
        description: t.description,
        type: t.type,
        definition: toJson(t.definition),
        parameters: toJson(t.parameters.map((p) => ({ name: p.name, description: p.description, required: p.required, ...(p.default !== undefined ? { default: p.default } : {}) }))),
        created_by: t.createdBy,
        updated_at: now,
      };
      const updated = await knex("workflow_templates").where({ name: t.name }).update(cols);
      if (Number(updated) === 0) {
        try {
          await knex("workflow_templates").insert({ name: t.name, created_at: now, ...cols });
        } catch {
          await knex("workflow_templates").where({ name: t.name }).update(cols);
        }
      }
      return (await this.get(t.name))!;
    },

    /** Inserts a template only if none has its name (built-ins never overwrite an operator's change). */
    async ensure(t: Omit<TemplateRecord, "createdAt" | "updatedAt">, now: number): Promise<void> {
      if (await this.get(t.name)) return;
      try {
        await this.put(t, now);
      } catch {
        /* another replica seeded it first */
      }
    },

    async remove(name: string): Promise<boolean> {
      return Number(await knex("workflow_templates").where({ name }).delete()) > 0;
    },
  };
}

export type TemplateStore = ReturnType<typeof createTemplateStore>;

/** Templates every MeshAI has from its first start (editable and deletable with mcp:manage). */
export const BUILTIN_TEMPLATES: Omit<TemplateRecord, "createdAt" | "updatedAt">[] = [
  {
    name: "code-review",
    description: "Reviews a piece of code from two sides at once: a security scan and a code-quality review, merged into one review with the most important fixes first.",
    type: "parallel",
    parameters: [
      { name: "code", description: "the code to review", required: true },
      { name: "language", description: "its language, if the code does not make it obvious", required: false, default: "" },
    ],
    definition: {
      input: { code: "${params.code}", language: "${params.language}" },
      steps: [
        { id: "security", task: "Check this ${params.language} code for security issues:\n{{input.code}}", capabilities: ["security_analysis"] },
        { id: "quality", task: "Review this ${params.language} code for bugs, readability and maintainability; list concrete fixes:\n{{input.code}}", capabilities: ["code_generation"], on_error: "skip" },
      ],
      aggregator: { id: "review", task: "Merge these reviews of the same code into one review, most important fixes first:\n{{dependencies}}", capabilities: ["text_generation"] },
    },
    createdBy: "meshai",
  },
  {
    name: "debug-and-fix",
    description: "Diagnoses an error from its message and the code around it, proposes a fix, then checks the fix against the diagnosis.",
    type: "sequential",
    parameters: [
      { name: "error", description: "the error message or failing test output", required: true },
      { name: "code", description: "the code involved", required: true },
    ],
    definition: {
      input: { error: "${params.error}", code: "${params.code}" },
      steps: [
        { id: "diagnose", task: "Find the cause of this error.\nError:\n{{input.error}}\n\nCode:\n{{input.code}}", capabilities: ["reasoning"] },
        { id: "fix", task: "Write a fix for this diagnosis, as a patch to the code.\nDiagnosis:\n{{previous.output}}\n\nCode:\n{{input.code}}", capabilities: ["code_generation"], retries: 1 },
        { id: "verify", task: "Does this fix address the diagnosis without new problems? Answer with a verdict and reasons.\nDiagnosis:\n{{steps.diagnose.output}}\n\nFix:\n{{steps.fix.output}}", capabilities: ["reasoning"] },
      ],
    },
    createdBy: "meshai",
  },
  {
    name: "data-report",
    description: "Computes statistics over a table (CSV) and writes a short report of what the numbers show for a reader.",
    type: "sequential",
    parameters: [
      { name: "data", description: "the table, as CSV", required: true },
      { name: "audience", description: "who reads the report", required: false, default: "a general reader" },
    ],
    definition: {
      input: { data: "${params.data}" },
      steps: [
        { id: "analyse", task: "Compute summary statistics for this CSV:\n{{input.data}}", capabilities: ["data_analysis"] },
        { id: "report", task: "Write a short report for ${params.audience} of what these statistics show:\n{{previous.output}}", capabilities: ["text_generation"] },
      ],
    },
    createdBy: "meshai",
  },
];

/**
 * The small template language of step tasks (docs/workflows.md):
 *   {{input}} / {{input.<field>[.<field>...]}}   the workflow's payload.input (objects as JSON)
 *   {{steps.<id>.output}}                         a finished step's output text
 *   {{steps.<id>.error}}                          why it failed (on_error continue/skip)
 *   {{steps.<id>.result}}                         its structured result, as JSON
 *   {{previous.output}}                           the one step this step waits for
 *   {{dependencies}}                              every awaited step's output, headed "## <id>"
 *   {{item}} / {{index}}                          a map_reduce map step's item and its number (1, 2, ...)
 * Other {{...}} text is left as it is (code in a task may use braces), but a
 * malformed or misspelt reference ({{steps.a}}, {{step.a.output}}) is refused
 * when the workflow is submitted; {{item}} outside a map step is plain text.
 */

export type Reference =
  | { kind: "input"; path: string[]; text: string }
  | { kind: "step"; step: string; field: "output" | "error" | "result"; text: string }
  | { kind: "previous"; field: "output" | "error" | "result"; text: string }
  | { kind: "dependencies"; text: string }
  | { kind: "var"; name: "item" | "index"; text: string };

const EXPR = /\{\{\s*([^{}]*?)\s*\}\}/g;
const NAME = /^[A-Za-z0-9_-]+$/;

const ROOTS = new Set(["input", "steps", "previous", "dependencies", "item", "index"]);
/** Heads that look like a misspelt reference: refused with a hint rather than left as text. */
const NEAR_MISSES = new Set(["step", "prev", "inputs", "deps", "dependency", "output", "outputs", "previous_output", "result", "results"]);

/**
 * A reference, or null for {{...}} that is not one (left as it is: task texts
 * quote Vue, Jinja or Handlebars code). Throws on a malformed or misspelt reference.
 */
function parse(text: string): Reference | null {
  const parts = text.split(".");
  const head = parts[0]!;
  if (!ROOTS.has(head) && !NEAR_MISSES.has(head)) return null;
  // {{item.name}}, {{index + 1}}: template code being quoted, not ours.
  if ((head === "item" || head === "index") && parts.length > 1) return null;
  if (head === "input" && parts.slice(1).every((p) => NAME.test(p))) return { kind: "input", path: parts.slice(1), text };
  if (head === "steps" && parts.length === 3 && NAME.test(parts[1]!) && (parts[2] === "output" || parts[2] === "error" || parts[2] === "result")) {
    return { kind: "step", step: parts[1]!, field: parts[2], text };
  }
  if (head === "previous" && parts.length === 2 && (parts[1] === "output" || parts[1] === "error" || parts[1] === "result")) {
    return { kind: "previous", field: parts[1], text };
  }
  if (text === "dependencies") return { kind: "dependencies", text };
  if (text === "item" || text === "index") return { kind: "var", name: text, text };
  throw new Error(
    `{{${text}}} is not a valid reference; use {{input.<field>}}, {{steps.<id>.output}}, {{steps.<id>.error}}, {{steps.<id>.result}}, {{previous.output}}, {{dependencies}} or (map_reduce) {{item}}`,
  );
}

/** The references in a task text; throws on a malformed one. */
export function referencesOf(task: string): Reference[] {
  return [...task.matchAll(EXPR)].map((m) => parse(m[1]!)).filter((r): r is Reference => r !== null);
}

/** What a reference can see when a step starts. */
export interface TemplateScope {
  input: Record<string, unknown>;
  steps: ReadonlyMap<string, { output: string; error: string; result: Record<string, unknown> | null }>;
  /** The steps this one waits for, in order. */
  dependsOn: string[];
  vars?: Record<string, string>;
}

const show = (v: unknown): string => (v === undefined || v === null ? "" : typeof v === "string" ? v : JSON.stringify(v));

export function render(task: string, scope: TemplateScope): string {
  return task.replace(EXPR, (whole: string, inner: string) => {
    const r = parse(inner.trim());
    if (!r || (r.kind === "var" && !scope.vars)) return whole;
    switch (r.kind) {
      case "input": {
        let cur: unknown = scope.input;
        for (const p of r.path) cur = cur && typeof cur === "object" ? (cur as Record<string, unknown>)[p] : undefined;
        return show(cur);
      }
      case "step":
      case "previous": {
        const id = r.kind === "step" ? r.step : scope.dependsOn[0]!;
        const s = scope.steps.get(id);
        if (!s) return "";
        return r.field === "result" ? show(s.result) : s[r.field];
      }
      case "var":
        return scope.vars?.[r.name] ?? "";
      case "dependencies":
        return scope.dependsOn.map((id) => `## ${id}\n${scope.steps.get(id)?.output || `(no output${scope.steps.get(id)?.error ? `: ${scope.steps.get(id)!.error}` : ""})`}`).join("\n\n");
    }
  });
}

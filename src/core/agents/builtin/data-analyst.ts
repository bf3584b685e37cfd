import { type Table, tableFrom } from "./tabular-input.js";

/**
 * Descriptive statistics of a pasted table: each column's type, counts,
 * centre and spread for numbers (quartiles by linear interpolation, sample
 * standard deviation), top values for categories, and Pearson correlations
 * between numeric columns.
 */

export type ColumnType = "number" | "boolean" | "date" | "string" | "empty";

export interface NumericStats {
  count: number;
  missing: number;
  sum: number;
  mean: number;
  median: number;
  /** Sample standard deviation (n - 1); 0 for a single value. */
  std: number;
  min: number;
  max: number;
  q1: number;
  q3: number;
}

export interface ColumnSummary {
  name: string;
  type: ColumnType;
  count: number;
  missing: number;
  unique: number;
  numeric?: NumericStats;
  top?: Array<{ value: string; count: number }>;
  trueCount?: number;
  falseCount?: number;
  earliest?: string;
  latest?: string;
}

export interface Analysis {
  format: "csv" | "json";
  delimiter?: string;
  rowCount: number;
  columns: ColumnSummary[];
  correlations: Array<{ a: string; b: string; r: number; n: number }>;
  /** Per-group figures when the request asks "by <column>" (or context.group_by names one). */
  groups?: GroupSummary;
}

export interface GroupSummary {
  by: string;
  groups: Array<{ key: string; count: number; numeric: Record<string, { sum: number; mean: number; min: number; max: number; count: number }> }>;
}

const MISSING = /^(|na|n\/a|nan|null|none|nil|-|\?)$/i;
// 1234, -1.5e3, 1,234.50, and the same with a currency sign or a percent sign ($1,200, 12.5%).
const NUMBER = /^[-+]?[$€£¥]?[-+]?(\d{1,3}(,\d{3})+|\d+)?(\.\d+)?([eE][-+]?\d+)?%?$/;
const BOOLEAN = /^(true|false|yes|no)$/i;
const DATE = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

function isMissing(v: unknown): boolean {
  return v === null || v === undefined || (typeof v === "string" && MISSING.test(v.trim()));
}

function toNumber(v: unknown): number | undefined {
  if (typeof v === "number") return Number.isFinite(v) ? v : undefined;
  if (typeof v !== "string") return undefined;
  const s = v.trim();
  if (!s || !NUMBER.test(s) || !/\d/.test(s)) return undefined;
  const n = Number(s.replace(/[,$€£¥%]/g, ""));
  return Number.isFinite(n) ? n : undefined;
}

/** Quantile with linear interpolation between order statistics (numpy's default, R type 7). */
export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export function numericStats(values: number[], missing: number): NumericStats {
  const sorted = [...values].sort((a, b) => a - b);
  const n = values.length;
  const sum = values.reduce((a, b) => a + b, 0);
  const mean = sum / n;
  const variance = n > 1 ? values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1) : 0;
  return {
    count: n,
    missing,
    sum,
    mean,
    median: quantile(sorted, 0.5),
    std: Math.sqrt(variance),
    min: sorted[0]!,
    max: sorted[n - 1]!,
    q1: quantile(sorted, 0.25),
    q3: quantile(sorted, 0.75),
  };
}

export function pearson(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i]! - mx) * (ys[i]! - my);
    sxx += (xs[i]! - mx) ** 2;
    syy += (ys[i]! - my) ** 2;
  }
  return sxx === 0 || syy === 0 ? NaN : sxy / Math.sqrt(sxx * syy);
}

function columnType(values: unknown[]): ColumnType {
  const present = values.filter((v) => !isMissing(v));
  if (present.length === 0) return "empty";
  if (present.every((v) => toNumber(v) !== undefined)) return "number";
  if (present.every((v) => typeof v === "boolean" || (typeof v === "string" && BOOLEAN.test(v.trim())))) return "boolean";
  if (present.every((v) => typeof v === "string" && DATE.test(v.trim()) && !Number.isNaN(Date.parse(v.trim())))) return "date";
  return "string";
}

function summarise(name: string, values: unknown[]): ColumnSummary {
  const present = values.filter((v) => !isMissing(v));
  const missing = values.length - present.length;
  const type = columnType(values);
  const text = present.map((v) => String(v).trim());
  const summary: ColumnSummary = { name, type, count: present.length, missing, unique: new Set(text).size };
  if (type === "number") {
    summary.numeric = numericStats(present.map((v) => toNumber(v)!), missing);
  } else if (type === "boolean") {
    summary.trueCount = text.filter((v) => /^(true|yes)$/i.test(v)).length;
    summary.falseCount = present.length - summary.trueCount;
  } else if (type === "date") {
    const sorted = [...text].sort((a, b) => Date.parse(a) - Date.parse(b));
    summary.earliest = sorted[0];
    summary.latest = sorted[sorted.length - 1];
  }
  if (type === "string" || type === "boolean" || type === "date") {
    const counts = new Map<string, number>();
    for (const v of text) counts.set(v, (counts.get(v) ?? 0) + 1);
    summary.top = [...counts.entries()]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .slice(0, 5)
      .map(([value, count]) => ({ value, count }));
  }
  return summary;
}

/** The grouping column a request names: "sales by region", "per team", "grouped by city", or context.group_by. */
export function groupColumn(task: string, context: Record<string, unknown>, columns: string[]): string | undefined {
  const wanted = typeof context.group_by === "string" ? [context.group_by] : [...task.matchAll(/\b(?:by|per|for each|grouped by|group by)\s+["'`]?([\p{L}\p{N}_ -]{1,64}?)["'`]?(?=[\s,.;:?!)]|$)/giu)].map((m) => m[1]!);
  for (const w of wanted) {
    const hit = columns.find((c) => c.toLowerCase() === w.trim().toLowerCase());
    if (hit) return hit;
  }
  return undefined;
}

function groupBy(table: Table, by: string, numericColumns: string[]): GroupSummary {
  const bi = table.columns.indexOf(by);
  const groups = new Map<string, Array<Table["rows"][number]>>();
  for (const row of table.rows) {
    const key = isMissing(row[bi]) ? "(missing)" : String(row[bi]).trim();
    (groups.get(key) ?? groups.set(key, []).get(key)!).push(row);
  }
  return {
    by,
    groups: [...groups.entries()]
      .sort((a, b) => b[1].length - a[1].length || a[0].localeCompare(b[0]))
      .slice(0, 50)
      .map(([key, rows]) => {
        const numeric: GroupSummary["groups"][number]["numeric"] = {};
        for (const name of numericColumns) {
          const ci = table.columns.indexOf(name);
          const values = rows.map((r) => (isMissing(r[ci]) ? undefined : toNumber(r[ci]))).filter((v): v is number => v !== undefined);
          if (values.length === 0) continue;
          const sum = values.reduce((x, y) => x + y, 0);
          numeric[name] = { count: values.length, sum, mean: sum / values.length, min: Math.min(...values), max: Math.max(...values) };
        }
        return { key, count: rows.length, numeric };
      }),
  };
}

export function analyseTable(table: Table): Analysis {
  const columns = table.columns.map((name, i) => summarise(name, table.rows.map((r) => r[i])));
  const numeric = columns.map((c, i) => ({ c, i })).filter(({ c }) => c.type === "number");
  const correlations: Analysis["correlations"] = [];
  for (let a = 0; a < numeric.length; a++) {
    for (let b = a + 1; b < numeric.length; b++) {
      const xs: number[] = [];
      const ys: number[] = [];
      for (const row of table.rows) {
        const x = isMissing(row[numeric[a]!.i]) ? undefined : toNumber(row[numeric[a]!.i]);
        const y = isMissing(row[numeric[b]!.i]) ? undefined : toNumber(row[numeric[b]!.i]);
        if (x !== undefined && y !== undefined) {
          xs.push(x);
          ys.push(y);
        }
      }
      if (xs.length >= 3) {
        const r = pearson(xs, ys);
        if (!Number.isNaN(r)) correlations.push({ a: numeric[a]!.c.name, b: numeric[b]!.c.name, r, n: xs.length });
      }
    }
  }
  correlations.sort((x, y) => Math.abs(y.r) - Math.abs(x.r));
  return { format: table.format, ...(table.delimiter ? { delimiter: table.delimiter } : {}), rowCount: table.rows.length, columns, correlations };
}

/** Numbers as people read them: at most four decimals, no float noise. */
export function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Number.isInteger(n)) return String(n);
  return String(Number(n.toFixed(4)));
}

function strength(r: number): string {
  const a = Math.abs(r);
  const dir = r > 0 ? "positive" : "negative";
  if (a >= 0.8) return `strong ${dir}`;
  if (a >= 0.5) return `moderate ${dir}`;
  if (a >= 0.3) return `weak ${dir}`;
  return "negligible";
}

export function formatAnalysis(a: Analysis): string {
  const delim = a.delimiter === "\t" ? "tab" : a.delimiter;
  const out = [`Analysed ${a.rowCount} row${a.rowCount === 1 ? "" : "s"} and ${a.columns.length} column${a.columns.length === 1 ? "" : "s"} (${a.format.toUpperCase()}${delim ? `, delimiter "${delim}"` : ""}).`, ""];
  for (const c of a.columns) {
    const head = `- ${c.name} (${c.type}): ${c.count} value${c.count === 1 ? "" : "s"}, ${c.missing} missing, ${c.unique} unique`;
    out.push(head);
    if (c.numeric) {
      const s = c.numeric;
      out.push(`    mean ${fmt(s.mean)}, median ${fmt(s.median)}, std ${fmt(s.std)}, min ${fmt(s.min)}, q1 ${fmt(s.q1)}, q3 ${fmt(s.q3)}, max ${fmt(s.max)}, sum ${fmt(s.sum)}`);
    }
    if (c.type === "boolean") out.push(`    true ${c.trueCount}, false ${c.falseCount}`);
    if (c.type === "date") out.push(`    from ${c.earliest} to ${c.latest}`);
    if (c.top && c.type !== "boolean") out.push(`    top values: ${c.top.map((t) => `${t.value} (${t.count})`).join(", ")}`);
  }
  if (a.groups) {
    out.push("", `By ${a.groups.by}:`);
    for (const g of a.groups.groups) {
      const figures = Object.entries(g.numeric).map(([name, v]) => `${name} sum ${fmt(v.sum)}, mean ${fmt(v.mean)}, min ${fmt(v.min)}, max ${fmt(v.max)}`);
      out.push(`- ${g.key}: ${g.count} row${g.count === 1 ? "" : "s"}${figures.length ? `; ${figures.join("; ")}` : ""}`);
    }
  }
  if (a.correlations.length) {
    out.push("", "Correlations (Pearson r):");
    for (const c of a.correlations) out.push(`- ${c.a} ~ ${c.b}: r = ${fmt(c.r)} (${strength(c.r)}, n = ${c.n})`);
  }
  return out.join("\n");
}

/** Finds the table in a task and analyses it; throws a clear Error when there is none. */
export function analyseTask(task: string, context: Record<string, unknown>): Analysis {
  const table = tableFrom(task, context);
  if (!table || table.rows.length === 0) {
    throw new Error(
      "no table found: paste CSV (a header row, then one row per line) or a JSON array of objects in the task, in a ``` block, or pass it as context.data",
    );
  }
  if (table.rows.length > 200_000) throw new Error(`the table has ${table.rows.length} rows; the data analyst takes at most 200000`);
  const analysis = analyseTable(table);
  const by = groupColumn(task, context, table.columns);
  if (by) {
    const numeric = analysis.columns.filter((c) => c.type === "number" && c.name !== by).map((c) => c.name);
    analysis.groups = groupBy(table, by, numeric);
  }
  return analysis;
}

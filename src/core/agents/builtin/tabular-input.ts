import { fencedBlocks } from "./code-input.js";

/**
 * Turns what a person pasted into rows: CSV/TSV (RFC 4180 quoting, the
 * delimiter sniffed) or JSON (an array of objects), from the task's context,
 * a fenced block, or the task text itself.
 */

export interface Table {
  columns: string[];
  rows: Array<Array<string | number | boolean | null>>;
  format: "csv" | "json";
  delimiter?: string;
}

const DELIMITERS = [",", "\t", ";", "|"];

/** RFC 4180 parsing: quoted fields may hold delimiters, doubled quotes and newlines. */
export function parseDelimited(text: string, delimiter: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i++;
        continue;
      }
      field += ch;
      i++;
      continue;
    }
    if (ch === '"' && field.trim() === "") {
      quoted = true;
      field = "";
      i++;
    } else if (ch === delimiter) {
      row.push(field);
      field = "";
      i++;
    } else if (ch === "\n" || ch === "\r") {
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
      i += ch === "\r" && text[i + 1] === "\n" ? 2 : 1;
    } else {
      field += ch;
      i++;
    }
  }
  if (field !== "" || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows.map((r) => r.map((f) => f.trim())).filter((r) => !(r.length === 1 && r[0] === ""));
}

/** The delimiter giving the most rows with the same (>1) field count. */
export function sniffDelimiter(text: string): string | undefined {
  const sample = text.split(/\r?\n/).filter((l) => l.trim()).slice(0, 50).join("\n");
  let best: { d: string; score: number } | undefined;
  for (const d of DELIMITERS) {
    const rows = parseDelimited(sample, d);
    const counts = new Map<number, number>();
    for (const r of rows) if (r.length > 1) counts.set(r.length, (counts.get(r.length) ?? 0) + 1);
    let score = 0;
    for (const [width, n] of counts) if (n >= 2) score = Math.max(score, n * 10 + width);
    if (score > 0 && (!best || score > best.score)) best = { d, score };
  }
  return best?.d;
}

/** The longest run of lines that parse to the same field count: the table inside prose. */
function tableRegion(text: string, delimiter: string): string {
  const lines = text.split(/\r?\n/);
  const widths = lines.map((l) => (l.trim() ? parseDelimited(l, delimiter)[0]?.length ?? 0 : 0));
  let bestStart = 0;
  let bestLen = 0;
  for (let i = 0; i < lines.length; i++) {
    if (widths[i]! < 2) continue;
    let j = i;
    while (j + 1 < lines.length && widths[j + 1] === widths[i]) j++;
    if (j - i + 1 > bestLen) {
      bestStart = i;
      bestLen = j - i + 1;
    }
  }
  const region = lines.slice(bestStart, bestStart + bestLen);
  // "Compute statistics over this CSV: name,age" — the header shares a line with the request.
  const first = region[0] ?? "";
  const colon = first.indexOf(": ");
  if (colon > 0 && /\s/.test(first.slice(0, colon).trim()) && /^[^"]*$/.test(first.slice(0, colon))) region[0] = first.slice(colon + 2);
  return region.join("\n");
}

function fromJsonValue(value: unknown): Table | undefined {
  let items = value;
  if (items && typeof items === "object" && !Array.isArray(items)) {
    const arrays = Object.values(items as Record<string, unknown>).filter((v) => Array.isArray(v));
    if (arrays.length === 1) items = arrays[0];
  }
  if (!Array.isArray(items) || items.length === 0) return undefined;
  if (items.every((x) => x !== null && typeof x === "object" && !Array.isArray(x))) {
    const columns: string[] = [];
    for (const item of items) for (const k of Object.keys(item as object)) if (!columns.includes(k)) columns.push(k);
    const rows = items.map((item) => columns.map((c) => cell((item as Record<string, unknown>)[c])));
    return { columns, rows, format: "json" };
  }
  if (items.every((x) => typeof x === "number" || typeof x === "string" || x === null)) {
    return { columns: ["value"], rows: items.map((x) => [cell(x)]), format: "json" };
  }
  return undefined;
}

function cell(v: unknown): string | number | boolean | null {
  if (v === undefined || v === null) return null;
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "string") return v;
  return JSON.stringify(v);
}

function fromText(text: string, hint?: string, explicit = false): Table | undefined {
  const trimmed = text.trim();
  if (hint !== "csv" && (trimmed.startsWith("[") || trimmed.startsWith("{"))) {
    try {
      const t = fromJsonValue(JSON.parse(trimmed));
      if (t) return t;
    } catch {
      // not JSON: try delimited text
    }
  }
  const delimiter = sniffDelimiter(trimmed);
  if (!delimiter) {
    // A single column is only taken from data given as such (context or a fenced block), never from prose.
    const lines = trimmed.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
    if (!explicit || lines.length < 2) return undefined;
    return { columns: [lines[0]!.replace(/^"|"$/g, "")], rows: lines.slice(1).map((l) => [l.replace(/^"|"$/g, "")]), format: "csv" };
  }
  const rows = parseDelimited(tableRegion(trimmed, delimiter), delimiter);
  if (rows.length < 2) return undefined;
  const header = rows[0]!.map((h, i) => h || `column_${i + 1}`);
  const width = header.length;
  return { columns: header, rows: rows.slice(1).filter((r) => r.length === width), format: "csv", delimiter };
}

/** Finds a JSON array embedded in prose ("here is the data: [{...}, ...]"). */
function embeddedJson(text: string): Table | undefined {
  const start = text.indexOf("[");
  const end = text.lastIndexOf("]");
  if (start < 0 || end <= start) return undefined;
  try {
    return fromJsonValue(JSON.parse(text.slice(start, end + 1)));
  } catch {
    return undefined;
  }
}

/** The table a task carries, or undefined when there is none. */
export function tableFrom(task: string, context: Record<string, unknown>): Table | undefined {
  for (const key of ["data", "csv", "json", "rows", "records", "table"]) {
    const v = context[key];
    if (typeof v === "string" && v.trim()) {
      const t = fromText(v, key === "csv" ? "csv" : undefined, true);
      if (t) return t;
    } else if (v && typeof v === "object") {
      const t = fromJsonValue(v);
      if (t) return t;
    }
  }
  for (const block of fencedBlocks(task)) {
    const t = fromText(block.code, block.info.toLowerCase() === "csv" || block.info.toLowerCase() === "tsv" ? "csv" : undefined, true);
    if (t) return t;
  }
  return embeddedJson(task) ?? fromText(task) ?? numberList(task);
}

/** "mean and std of 3, 5, 7.5 and 9": a bare list of numbers after the request is one column. */
function numberList(task: string): Table | undefined {
  const colon = task.lastIndexOf(":");
  const tail = colon >= 0 ? task.slice(colon + 1) : task.replace(/^[^\d-]*/, "");
  const cleaned = tail.replace(/\band\b/gi, " ").trim().replace(/[.?!]$/, "");
  if (!/^[-+]?\d[\d.,;\s+-]*$/.test(cleaned)) return undefined;
  const values = cleaned.split(/[\s,;]+/).filter(Boolean);
  if (values.length < 2 || values.some((v) => !/^[-+]?(\d+\.?\d*|\.\d+)$/.test(v))) return undefined;
  return { columns: ["value"], rows: values.map((v) => [v]), format: "csv" };
}

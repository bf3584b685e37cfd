/**
 * Words as search sees them: lower-cased terms without stop words, and the
 * parsed form of a query (terms, "quoted phrases", -exclusions, OR) that the
 * SQLite and PostgreSQL back ends render into their own syntax, so both
 * behave alike.
 */

export const STOP_WORDS = new Set(
  (
    "a about above after again against all am an and any are as at be because been before being below between both but by can " +
    "could did do does doing down during each few for from further had has have having he her here hers him his how i if in into " +
    "is it its itself just me more most my no nor not now of off on once only or other our ours out over own same she should so " +
    "some such than that the their theirs them then there these they this those through to too under until up very was we were " +
    "what when where which while who whom why will with would you your yours myself ourselves yourself yourselves himself " +
    "herself themselves s t don please tell show give want need use using get"
  ).split(" "),
);

/** Lower-case word tokens (letters and digits, inner '_' '-' '.' split). */
export function words(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

/** The meaningful words of a text: no stop words, no single letters. */
export function terms(text: string): string[] {
  return words(text).filter((w) => !STOP_WORDS.has(w) && (w.length > 1 || /\d/.test(w)));
}

/** A very light stemmer so "agents" meets "agent" and "routing" meets "route" in passage scoring. */
export function stem(w: string): string {
  if (w.length > 5 && w.endsWith("ing")) return w.slice(0, -3);
  if (w.length > 4 && w.endsWith("ies")) return `${w.slice(0, -3)}y`;
  if (w.length > 4 && w.endsWith("ed")) return w.slice(0, -2);
  if (w.length > 3 && w.endsWith("es") && /(ss|x|ch|sh)es$/.test(w)) return w.slice(0, -2);
  if (w.length > 3 && w.endsWith("s") && !w.endsWith("ss")) return w.slice(0, -1);
  if (w.length > 4 && w.endsWith("e")) return w.slice(0, -1);
  return w;
}

export interface ParsedQuery {
  /** Groups joined by OR; each group is terms and phrases joined by AND. */
  groups: Array<{ terms: string[]; phrases: string[][] }>;
  exclude: string[];
}

/**
 * Parses web-search style input: words (AND), "quoted phrases", -word, and OR.
 * Stop words are dropped outside phrases; a query of stop words alone finds nothing.
 */
export function parseQuery(input: string): ParsedQuery {
  const groups: ParsedQuery["groups"] = [{ terms: [], phrases: [] }];
  const exclude: string[] = [];
  const re = /(-?)"([^"]*)"|(\S+)/g;
  for (const m of input.matchAll(re)) {
    const group = groups[groups.length - 1]!;
    if (m[2] !== undefined) {
      const ws = words(m[2]);
      if (!ws.length) continue;
      if (m[1]) exclude.push(...ws);
      else if (ws.length === 1) group.terms.push(ws[0]!);
      else group.phrases.push(ws);
      continue;
    }
    const token = m[3]!;
    if (token === "OR" || token === "or" || token === "|") {
      if (group.terms.length || group.phrases.length) groups.push({ terms: [], phrases: [] });
      continue;
    }
    if (token.startsWith("-") && token.length > 1) {
      exclude.push(...words(token.slice(1)));
      continue;
    }
    group.terms.push(...words(token));
  }
  // Stop words are dropped on both back ends alike (PostgreSQL's english config would drop them anyway).
  for (const g of groups) g.terms = [...new Set(g.terms.filter((w) => !STOP_WORDS.has(w) && (w.length > 1 || /\d/.test(w))))];
  return { groups: groups.filter((g) => g.terms.length || g.phrases.length), exclude: [...new Set(exclude)] };
}

/** The same query with every term optional: used when the strict (AND) form finds nothing. */
export function loosen(q: ParsedQuery): ParsedQuery {
  const seen = new Set<string>();
  const groups: ParsedQuery["groups"] = [];
  for (const g of q.groups) {
    for (const t of g.terms) if (!seen.has(t)) (seen.add(t), groups.push({ terms: [t], phrases: [] }));
    for (const p of g.phrases) groups.push({ terms: [], phrases: [p] });
  }
  return { groups, exclude: q.exclude };
}

/** FTS5 MATCH syntax: every token double-quoted, so no user text is read as an operator. */
export function toFts5(q: ParsedQuery): string {
  const quote = (w: string) => `"${w.replace(/"/g, '""')}"`;
  const groups = q.groups.map((g) => {
    const parts = [...g.terms.map(quote), ...g.phrases.map((p) => quote(p.join(" ")))];
    return parts.length > 1 ? `(${parts.join(" AND ")})` : parts[0]!;
  });
  let expr = groups.length > 1 ? `(${groups.join(" OR ")})` : groups[0] ?? "";
  if (expr && q.exclude.length) expr = `${expr} NOT (${q.exclude.map(quote).join(" OR ")})`;
  return expr;
}

/** PostgreSQL websearch_to_tsquery syntax (only letters and digits survive; it never raises). */
export function toWebsearch(q: ParsedQuery): string {
  const groups = q.groups.map((g) => [...g.terms, ...g.phrases.map((p) => `"${p.join(" ")}"`)].join(" "));
  let expr = groups.join(" or ");
  if (q.exclude.length) expr = `${expr} ${q.exclude.map((w) => `-${w}`).join(" ")}`;
  return expr;
}

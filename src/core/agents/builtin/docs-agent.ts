import { stem, terms } from "../../mesh/search-text.js";

/**
 * The docs agent answers from MeshAI's own documentation, extractively: it
 * searches the docs index, picks the sentences, list items and commands that
 * best cover the question, and cites the sections they came from.
 */

/** One section of a doc, as the search index holds it. */
export interface DocPassage {
  /** Typed id, e.g. "doc:getting-started#install". */
  id: string;
  title: string;
  url: string;
  text: string;
  score: number;
}

/** What the docs agent needs from the search index. */
export interface DocsSearch {
  searchDocs(query: string, limit: number): Promise<DocPassage[]>;
}

export interface DocsAnswer {
  text: string;
  citations: Array<{ id: string; title: string; url: string }>;
}

interface Unit {
  text: string;
  passage: number;
  order: number;
  score: number;
}

/** Paragraph sentences, list items and code blocks: the pieces an answer is made of. */
function units(text: string): string[] {
  const out: string[] = [];
  const blocks = text.split(/\n(?=```)|(?<=```)\n/);
  for (const block of blocks) {
    if (block.startsWith("```")) {
      out.push(block.trim());
      continue;
    }
    for (const para of block.split(/\n\s*\n/)) {
      const lines = para.split("\n");
      if (lines.some((l) => /^\s*([-*]|\d+\.|\|)\s/.test(l))) {
        // One unit per list item or table row; wrapped lines join the item they continue.
        const items: string[] = [];
        for (const l of lines) {
          if (!l.trim() || /^#+\s/.test(l) || /^\|[\s|:-]+\|$/.test(l.trim())) continue;
          if (/^\s*([-*]|\d+\.|\|)\s/.test(l) || items.length === 0) items.push(l.trim());
          else items[items.length - 1] += ` ${l.trim()}`;
        }
        out.push(...items);
        continue;
      }
      const flat = lines.filter((l) => !/^#+\s/.test(l)).join(" ").replace(/\s+/g, " ").trim();
      if (!flat) continue;
      for (const s of flat.split(/(?<=[.!?])\s+(?=[A-Z`*"(])/)) if (s.trim()) out.push(s.trim());
    }
  }
  return out;
}

/** Builds an extractive answer with numbered citations. */
export function composeAnswer(question: string, passages: DocPassage[]): DocsAnswer {
  const q = new Set(terms(question).map(stem));
  // A section that shares only a stray word with the question is not an answer to it.
  const covering = (p: DocPassage) => {
    const words = new Set(terms(`${p.title} ${p.text}`).map(stem));
    let hits = 0;
    for (const t of q) if (words.has(t)) hits++;
    return q.size <= 1 ? hits >= 1 : hits / q.size >= 0.5;
  };
  passages = passages.filter(covering);
  if (passages.length === 0 || q.size === 0) {
    return {
      text: `I found nothing in MeshAI's docs about "${question.trim().slice(0, 200)}". Try other words, or search the docs with the search tool.`,
      citations: [],
    };
  }
  const candidates: Unit[] = [];
  passages.forEach((p, pi) => {
    units(p.text).forEach((u, order) => {
      const us = new Set(terms(u).map(stem));
      let hits = 0;
      for (const t of q) if (us.has(t)) hits++;
      if (hits === 0) return;
      const coverage = hits / q.size;
      // Earlier (better-ranked) passages and denser units score higher; code blocks carry the how-to.
      const score = coverage * 10 - pi * 0.8 + (u.startsWith("```") ? 1.5 : 0) - Math.max(0, u.length - 400) / 400;
      candidates.push({ text: u, passage: pi, order, score });
    });
  });
  candidates.sort((a, b) => b.score - a.score);
  // The best section speaks first: its lead and its best-matching pieces (up to 3), then
  // the single best piece of each other section that covers at least half the question.
  const top = candidates.filter((c) => c.passage === 0).slice(0, 3);
  const lead = units(passages[0]!.text)[0];
  if (lead && !top.some((c) => c.order === 0)) {
    if (top.length === 3) top.pop();
    top.push({ text: lead, passage: 0, order: 0, score: 0 });
  }
  const others: Unit[] = [];
  for (const c of candidates) {
    if (c.passage === 0 || others.some((o) => o.passage === c.passage) || c.score < 5 - c.passage * 0.8) continue;
    others.push(c);
  }
  const chosen = [...top, ...others.slice(0, 2)];
  chosen.sort((a, b) => a.passage - b.passage || a.order - b.order);
  const used = [...new Set(chosen.map((c) => c.passage))];
  const number = new Map(used.map((p, i) => [p, i + 1]));
  const lines = ["From MeshAI's docs:", ""];
  for (const c of chosen) lines.push(c.text.startsWith("```") ? `${c.text}\n[${number.get(c.passage)}]` : `${c.text} [${number.get(c.passage)}]`);
  lines.push("", "Sources:");
  const citations = used.map((p) => ({ id: passages[p]!.id, title: passages[p]!.title, url: passages[p]!.url }));
  citations.forEach((c, i) => lines.push(`[${i + 1}] ${c.title} (${c.id}) ${c.url}`));
  return { text: lines.join("\n"), citations };
}

/** Strips the request wording around a question ("use the docs agent to ..."). */
export function questionOf(task: string, context: Record<string, unknown>): string {
  if (typeof context.question === "string" && context.question.trim()) return context.question.trim();
  return task.replace(/^\s*(use|ask)\s+(the\s+)?(mesh_?execute|docs?(\s+agent)?)\s+(to\s+)?/i, "").trim();
}

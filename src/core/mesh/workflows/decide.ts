import type { ConsensusRule } from "./definition.js";
import type { StepRecord } from "./store.js";

/** Answers compared for a vote: case, spacing and trailing punctuation do not make two answers differ. */
export function normaliseAnswer(answer: string): string {
  return answer.toLowerCase().replace(/\s+/g, " ").trim().replace(/[.!?;:,\s]+$/, "");
}

export interface Tally {
  method: "majority" | "judge";
  votes: { step: string; agent_id: string; state: string; answer: string }[];
  /** Voters that answered. */
  answered: number;
  /** The share of answering voters that gave the most common answer (0..1). */
  agreement: number;
  /** The most common answer (the first voter's wording of it). */
  majority_answer: string;
  /** True when more than half of the answering voters gave it. */
  majority: boolean;
  /** How many distinct answers there were. */
  distinct_answers: number;
  decided_by: string;
}

/** Counts a consensus's votes: what the result shows about agreement, whoever decides. */
export function tally(rule: ConsensusRule, rows: ReadonlyMap<string, StepRecord>): Tally {
  const votes = rule.voters.map((id) => {
    const r = rows.get(id)!;
    return { step: id, agent_id: r.agentId ?? "", state: r.state, answer: r.state === "completed" ? (r.output ?? "") : "" };
  });
  const answered = votes.filter((v) => v.state === "completed");
  const groups = new Map<string, { count: number; wording: string }>();
  for (const v of answered) {
    const key = normaliseAnswer(v.answer);
    const g = groups.get(key);
    if (g) g.count++;
    else groups.set(key, { count: 1, wording: v.answer });
  }
  const top = [...groups.values()].sort((a, b) => b.count - a.count)[0];
  return {
    method: rule.method,
    votes,
    answered: answered.length,
    agreement: answered.length ? Math.round(((top?.count ?? 0) / answered.length) * 1000) / 1000 : 0,
    majority_answer: top?.wording ?? "",
    majority: !!top && top.count * 2 > answered.length,
    distinct_answers: groups.size,
    decided_by: rule.method === "judge" ? `judge step ${rule.judge}${rows.get(rule.judge!)?.agentId ? ` (${rows.get(rule.judge!)!.agentId})` : ""}` : "majority vote",
  };
}

/** The sub-tasks in a manager's plan: a JSON array of strings (or of {task}), else a bulleted or numbered list. */
export function subtasksOf(plan: string, max: number): string[] {
  const found: string[] = [];
  const json = /\[[\s\S]*\]/.exec(plan);
  if (json) {
    try {
      const arr = JSON.parse(json[0]) as unknown;
      if (Array.isArray(arr)) {
        for (const x of arr) {
          const text = typeof x === "string" ? x : x && typeof x === "object" ? String((x as Record<string, unknown>).task ?? (x as Record<string, unknown>).description ?? "") : "";
          if (text.trim()) found.push(text.trim());
        }
      }
    } catch {
      /* not JSON: try a list */
    }
  }
  if (found.length === 0) {
    for (const m of plan.matchAll(/^\s*(?:[-*\u2022]|\d+[.)])\s+(.+?)\s*$/gm)) found.push(m[1]!);
  }
  return found.slice(0, max);
}

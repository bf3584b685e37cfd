/**
 * Capability inference: when a task names no capabilities, the router asks
 * what the words call for. Rules are weighted cues (verbs, nouns, pasted
 * artefacts such as code or CSV); the best-scoring capability wins. One
 * capability is returned on purpose: the router requires every capability it
 * is given, and a task text rarely needs two agents at once.
 */

interface Cue {
  pattern: RegExp;
  weight: number;
}

interface Rule {
  capability: string;
  cues: Cue[];
}

const cue = (pattern: RegExp, weight: number): Cue => ({ pattern, weight });

const RULES: Rule[] = [
  {
    capability: "security_analysis",
    cues: [
      cue(/\b(security|secure|insecure)\b/i, 3),
      cue(/\bvulnerab\w*/i, 4),
      cue(/\b(exploit\w*|cve-\d+|owasp|sast|pentest\w*|attack surface)\b/i, 3),
      cue(/\b(sql injection|injection|xss|csrf|ssrf|rce|remote code execution|path traversal|deserializ\w*)\b/i, 3),
      cue(/\b(hard-?coded|leaked|exposed) (secrets?|credentials?|passwords?|keys?|tokens?)\b/i, 3),
      cue(/\b(audit|scan)\b[^.\n]{0,40}\b(code|repo\w*|snippet|script|source|function|file)\b/i, 3),
      cue(/\b(is|are)\s+(this|these|the|my)\s+(code|snippet|script|function|query|queries|endpoint)s?\b[^?\n]{0,30}\b(safe|secure|exploitable)\b/i, 4),
      cue(/\b(leak\w*|expos\w*)\b[^.\n]{0,30}\b(secrets?|credentials?|keys?|tokens?|passwords?)\b/i, 3),
    ],
  },
  {
    capability: "data_analysis",
    cues: [
      cue(/\b(statistic\w*|stats)\b/i, 4),
      cue(/\b(csv|tsv|dataset|data set|spreadsheet|table of|columns?|rows?)\b/i, 2),
      cue(/\b(mean|median|average|std|standard deviation|variance|percentiles?|quartiles?|correlat\w*|distribution|histogram|outliers?)\b/i, 3),
      cue(/\b(analy[sz]e|summari[sz]e|describe|aggregate)\b[^.\n]{0,40}\b(data|dataset|csv|json|numbers|figures|sales|metrics)\b/i, 3),
      cue(/\b(data analysis|analytics|descriptive)\b/i, 3),
    ],
  },
  {
    capability: "documentation",
    cues: [
      cue(/\bmesh ?ai\b/i, 1),
      cue(/\b(docs|documentation|manual|guide)\b/i, 2),
      cue(/\bhow (do|can|should) (i|we|you)\b[^?\n]{0,80}\b(mesh ?ai|connect|register|configure|set ?up|install|chatgpt|oauth|token|agent|workflow|grpc|mcp)\b/i, 3),
      cue(/\b(what is|explain)\b[^?\n]{0,40}\bmesh ?ai\b/i, 3),
      // A question about MeshAI itself ("How does MeshAI's router pick an agent?").
      cue(/^\s*(how|what|where|why|when|which|can|does|do|is|are)\b[^\n]{0,160}\bmesh ?ai\b[^\n]*\??\s*$|\bmesh ?ai\b[^\n]{0,160}\?\s*$/i, 3),
    ],
  },
  {
    capability: "image_generation",
    cues: [
      cue(/\b(draw|paint|sketch|illustrat\w*|render)\b/i, 2),
      cue(/\b(image|picture|photo\w*|logo|icon|illustration|artwork|wallpaper)\b/i, 2),
      cue(/\b(generate|create|make|design)\b[^.\n]{0,30}\b(image|picture|photo|logo|icon|illustration)\b/i, 4),
    ],
  },
  {
    capability: "code_generation",
    cues: [
      cue(/\b(write|implement|generate|create|build|code up|refactor|port|translate)\b[^.\n]{0,40}\b(function|class|script|program|code|method|module|api|endpoint|regex|query|unit tests?|cli)\b/i, 4),
      cue(/\b(python|javascript|typescript|java|golang|go|rust|c\+\+|c#|php|ruby|kotlin|swift|sql|bash)\b/i, 1),
      cue(/\b(fix|debug)\b[^.\n]{0,30}\b(bug|error|exception|code|function)\b/i, 3),
    ],
  },
  {
    capability: "reasoning",
    cues: [
      cue(/\b(reason|reasoning|step by step|logic\w*|prove|proof|deduce|infer|puzzle|riddle)\b/i, 3),
      cue(/\b(plan|strategy|trade-?offs?|pros and cons|compare|decide|decision|evaluate)\b/i, 2),
      cue(/\b(why|how many|what if)\b/i, 1),
      cue(/\b(solve|calculate)\b[^.\n]{0,30}\b(problem|equation|puzzle)\b/i, 3),
    ],
  },
  {
    capability: "text_generation",
    cues: [
      cue(/\b(write|draft|compose|rewrite|paraphrase)\b[^.\n]{0,40}\b(email|letter|essay|story|poem|post|article|summary|description|tweet|message|paragraph|copy|headline)\b/i, 4),
      cue(/\b(summari[sz]e|translate|proofread|rephrase)\b/i, 3),
      cue(/\b(poem|story|essay|blog|article|haiku)\b/i, 2),
    ],
  },
];

/** The fallback when nothing matches: any general-purpose LLM can take it. */
const FALLBACK = "text_generation";

/** Code-like lines: fences, statements, calls; pasted code points to code work. */
function looksLikeCode(text: string): boolean {
  if (/```/.test(text)) return true;
  const lines = text.split("\n");
  let codeLines = 0;
  for (const line of lines) {
    if (/^\s*(import |from \S+ import|def |class |function |const |let |var |public |private |package |func |#include|<\?php|SELECT |INSERT |\$\w+ =)/.test(line) || /[;{}]\s*$/.test(line)) {
      codeLines++;
    }
  }
  return codeLines >= 2;
}

/** Delimited rows with a consistent field count: pasted CSV/TSV points to data work. */
function looksLikeTable(text: string): boolean {
  const lines = text.split("\n").map((l) => l.trim()).filter(Boolean);
  for (const delim of [",", "\t", ";", "|"]) {
    const counts = lines.map((l) => l.split(delim).length).filter((n) => n >= 2);
    if (counts.length >= 3) {
      const first = counts[0];
      if (counts.filter((n) => n === first).length >= 3) return true;
    }
  }
  return /^\s*\[\s*\{[\s\S]*\}\s*\]\s*$/m.test(text);
}

/** Scores of every capability for `text`, best first (only those with a positive score). */
export function scoreCapabilities(text: string): Array<{ capability: string; score: number }> {
  const scores = new Map<string, number>();
  for (const rule of RULES) {
    let s = 0;
    for (const c of rule.cues) if (c.pattern.test(text)) s += c.weight;
    if (s > 0) scores.set(rule.capability, s);
  }
  const code = looksLikeCode(text);
  const table = looksLikeTable(text);
  // Pasted artefacts decide between close calls: code with security words is a scan,
  // a table with analysis words is data analysis.
  if (code && scores.has("security_analysis")) scores.set("security_analysis", scores.get("security_analysis")! + 3);
  if (table && !code) scores.set("data_analysis", (scores.get("data_analysis") ?? 0) + 3);
  if (code && scores.has("data_analysis") && !table) scores.set("data_analysis", scores.get("data_analysis")! - 2);
  return [...scores.entries()]
    .filter(([, s]) => s > 0)
    .map(([capability, score]) => ({ capability, score }))
    .sort((a, b) => b.score - a.score || RULES.findIndex((r) => r.capability === a.capability) - RULES.findIndex((r) => r.capability === b.capability));
}

/**
 * The capabilities a task text calls for, for a task that names none.
 *
 * @example
 * inferCapabilities("analyze this code for security vulnerabilities") // ["security_analysis"]
 * inferCapabilities("compute statistics over this CSV: a,b\n1,2")      // ["data_analysis"]
 */
export function inferCapabilities(text: string): string[] {
  const best = scoreCapabilities(text)[0];
  return [best && best.score >= 2 ? best.capability : FALLBACK];
}

/**
 * Where the security scanner finds code: `context.code` / `context.files`,
 * fenced blocks in the task text, or the task text itself when it is code.
 * Line numbers are counted inside each source, so a finding's line is the
 * line a person sees in that block or file.
 */

export interface CodeSource {
  /** "block 1", a file path, or "context.code". */
  name: string;
  language: Language;
  text: string;
}

export type Language = "python" | "javascript" | "java" | "go" | "php" | "ruby" | "csharp" | "unknown";

const FENCE_LANGS: Record<string, Language> = {
  py: "python", python: "python", python3: "python",
  js: "javascript", javascript: "javascript", jsx: "javascript", ts: "javascript", typescript: "javascript", tsx: "javascript", node: "javascript", mjs: "javascript",
  java: "java", kotlin: "java",
  go: "go", golang: "go",
  php: "php",
  rb: "ruby", ruby: "ruby",
  cs: "csharp", csharp: "csharp",
};

const EXTENSIONS: Record<string, Language> = {
  py: "python", js: "javascript", mjs: "javascript", cjs: "javascript", jsx: "javascript", ts: "javascript", tsx: "javascript",
  java: "java", kt: "java", go: "go", php: "php", rb: "ruby", cs: "csharp",
};

/** Guesses a language from tell-tale syntax. */
export function detectLanguage(code: string): Language {
  const scores: Record<Language, number> = { python: 0, javascript: 0, java: 0, go: 0, php: 0, ruby: 0, csharp: 0, unknown: 0 };
  const tally = (lang: Language, re: RegExp, w = 1) => {
    if (re.test(code)) scores[lang] += w;
  };
  tally("php", /<\?php|\$_(GET|POST|REQUEST|COOKIE)|\$\w+\s*=|->\w+\(/, 3);
  tally("python", /^\s*(def |import \w|from [\w.]+ import |class \w+(\(.*\))?:)/m, 3);
  tally("python", /:\s*$/m);
  tally("python", /\bself\.|\bNone\b|\bTrue\b|\bFalse\b|\belif\b/);
  tally("go", /^\s*package \w+|\bfunc \w*\(|:=|\bfmt\.|\berr != nil/m, 3);
  tally("java", /\bpublic (static |final )*(class|void|[A-Z]\w*)\b|System\.out|\bimport java\.|\bString\[\]|new [A-Z]\w*\(/, 3);
  tally("javascript", /\b(const|let|var) \w+\s*=|=>|\brequire\(|\bfunction\s*\w*\(|console\.log|\bexport (default |const |function )|import .* from ['"]/, 3);
  tally("ruby", /^\s*(def \w+[^:]*$|end$|require ['"])|\bputs\b/m, 2);
  tally("csharp", /\busing System|\bnamespace \w+|\bpublic (async )?Task\b/, 3);
  let best: Language = "unknown";
  let bestScore = 0;
  for (const [lang, s] of Object.entries(scores) as [Language, number][]) {
    if (s > bestScore) {
      best = lang;
      bestScore = s;
    }
  }
  return best;
}

function languageOf(hint: string | undefined, code: string): Language {
  const h = (hint ?? "").trim().toLowerCase();
  return FENCE_LANGS[h] ?? detectLanguage(code);
}

/** Fenced ``` or ~~~ blocks in Markdown-ish text, with their info string. */
export function fencedBlocks(text: string): Array<{ info: string; code: string }> {
  const out: Array<{ info: string; code: string }> = [];
  const re = /^[ \t]*(`{3,}|~{3,})[ \t]*([^\n`]*)\n([\s\S]*?)\n?[ \t]*\1[ \t]*$/gm;
  for (const m of text.matchAll(re)) out.push({ info: (m[2] ?? "").trim().split(/\s+/)[0] ?? "", code: m[3] ?? "" });
  return out;
}

function fromContext(context: Record<string, unknown>): CodeSource[] {
  const out: CodeSource[] = [];
  const lang = typeof context.language === "string" ? context.language : undefined;
  if (typeof context.code === "string" && context.code.trim()) {
    out.push({ name: typeof context.filename === "string" ? context.filename : "context.code", language: languageOf(lang ?? extOf(context.filename), context.code), text: context.code });
  }
  const files = context.files;
  if (Array.isArray(files)) {
    for (const f of files) {
      if (f && typeof f === "object" && typeof (f as { content?: unknown }).content === "string") {
        const path = String((f as { path?: unknown }).path ?? `file ${out.length + 1}`);
        const content = (f as { content: string }).content;
        out.push({ name: path, language: languageOf(extOf(path), content), text: content });
      }
    }
  } else if (files && typeof files === "object") {
    for (const [path, content] of Object.entries(files as Record<string, unknown>)) {
      if (typeof content === "string") out.push({ name: path, language: languageOf(extOf(path), content), text: content });
    }
  }
  return out;
}

function extOf(path: unknown): string | undefined {
  if (typeof path !== "string") return undefined;
  const m = /\.([A-Za-z0-9]+)$/.exec(path);
  return m ? EXTENSIONS[m[1]!.toLowerCase()] : undefined;
}

const CODE_LINE =
  /^\s*(import\s|from\s+\S+\s+import|def\s|class\s|function\b|const\s|let\s|var\s|public\s|private\s|package\s|func\s|#include|<\?php|return\b|if\s*\(|for\s*\(|while\s*\()|[;{}]\s*$|^\s*[\w$.[\]'"]+\s*(=|:=)\s*\S|\w\([^)]*\)\s*;?\s*$/;

/** True when at least two lines (or a third of them) read like code rather than prose. */
export function looksLikeCode(text: string): boolean {
  const lines = text.split(/\r?\n/).filter((l) => l.trim());
  const code = lines.filter((l) => CODE_LINE.test(l)).length;
  return code >= 2 || (code >= 1 && code * 3 >= lines.length);
}

/** Every piece of code the task carries. The whole task text is scanned when it has no fences and no context code. */
export function codeSources(task: string, context: Record<string, unknown>): CodeSource[] {
  const sources = fromContext(context);
  const blocks = fencedBlocks(task);
  blocks.forEach((b, i) => sources.push({ name: blocks.length === 1 ? "code block" : `code block ${i + 1}`, language: languageOf(b.info, b.code), text: b.code }));
  if (sources.length === 0 && looksLikeCode(task)) sources.push({ name: "task text", language: detectLanguage(task), text: task });
  return sources;
}

import { type CodeSource, codeSources } from "./code-input.js";
import { isComment, SECURITY_RULES, type Severity, taintedVariables } from "./security-rules.js";

/** One problem the scanner found, located in the block or file a person pasted. */
export interface Finding {
  rule: string;
  title: string;
  severity: Severity;
  cwe: string;
  source: string;
  language: string;
  /** 1-based line number within `source`. */
  line: number;
  snippet: string;
  detail?: string;
  fix: string;
}

export interface ScanReport {
  findings: Finding[];
  sources: Array<{ name: string; language: string; lines: number }>;
  summary: Record<Severity, number>;
}

const ORDER: Record<Severity, number> = { critical: 0, high: 1, medium: 2, low: 3 };

/** Scans one source line by line with every rule; a rule reports a line once. */
export function scanSource(src: CodeSource): Finding[] {
  const lines = src.text.split(/\r?\n/);
  const findings: Finding[] = [];
  const tainted = taintedVariables(lines);
  lines.forEach((line, index) => {
    if (line.length > 4000 || !line.trim()) return;
    const comment = isComment(line, src.language);
    for (const rule of SECURITY_RULES) {
      if (comment && !rule.includeComments) continue;
      const hit = rule.check(line, { language: src.language, lines, index, source: src.text, tainted });
      if (!hit) continue;
      const extra = hit === true ? {} : hit;
      findings.push({
        rule: rule.id,
        title: rule.title,
        severity: extra.severity ?? rule.severity,
        cwe: rule.cwe,
        source: src.name,
        language: src.language,
        line: index + 1,
        snippet: (extra.snippet ?? line.trim()).slice(0, 200),
        ...(extra.detail ? { detail: extra.detail } : {}),
        fix: rule.fix[src.language] ?? rule.fix.default,
      });
    }
  });
  return findings;
}

/** Scans every source the task carries, most severe findings first. */
export function scanCode(task: string, context: Record<string, unknown>, signal?: AbortSignal): ScanReport {
  const sources = codeSources(task, context);
  const findings: Finding[] = [];
  for (const src of sources) {
    signal?.throwIfAborted();
    findings.push(...scanSource(src));
  }
  findings.sort((a, b) => ORDER[a.severity] - ORDER[b.severity] || a.source.localeCompare(b.source) || a.line - b.line);
  const summary: Record<Severity, number> = { critical: 0, high: 0, medium: 0, low: 0 };
  for (const f of findings) summary[f.severity]++;
  return { findings, summary, sources: sources.map((s) => ({ name: s.name, language: s.language, lines: s.text.split(/\r?\n/).length })) };
}

/** The report as a person reads it. */
export function formatScanReport(report: ScanReport): string {
  const scanned = report.sources.map((s) => `${s.name} (${s.language}, ${s.lines} line${s.lines === 1 ? "" : "s"})`).join(", ");
  if (report.findings.length === 0) {
    return `Security scan of ${scanned || "nothing"}: no findings. The rules cover code and command injection, SQL built from strings, hard-coded secrets, weak hashes, insecure randomness, disabled TLS verification, unsafe deserialisation, XSS and debug mode.`;
  }
  const s = report.summary;
  const counts = (["critical", "high", "medium", "low"] as Severity[]).filter((k) => s[k] > 0).map((k) => `${s[k]} ${k}`).join(", ");
  const out = [`Security scan of ${scanned}: ${report.findings.length} finding${report.findings.length === 1 ? "" : "s"} (${counts}).`, ""];
  report.findings.forEach((f, i) => {
    const where = report.sources.length > 1 ? `${f.source} line ${f.line}` : `line ${f.line}`;
    out.push(`${i + 1}. [${f.severity.toUpperCase()}] ${f.title} (${f.rule}, ${f.cwe}) at ${where}${f.detail ? `: ${f.detail}` : ""}`);
    out.push(`   code: ${f.snippet}`);
    out.push(`   fix:  ${f.fix}`);
  });
  return out.join("\n");
}

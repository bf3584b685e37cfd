import type { AgentRecord } from "../../store/agents.js";
import type { AgentAdapter, AgentCall, AgentEvent, HealthVerdict } from "../adapter.js";
import { analyseTask, formatAnalysis } from "./data-analyst.js";
import { BUILTIN_AGENTS, type BuiltinKind, builtinKindOf } from "./definitions.js";
import { composeAnswer, type DocsSearch, questionOf } from "./docs-agent.js";
import { formatScanReport, scanCode } from "./security-scanner.js";

export { BUILTIN_AGENTS, builtinKindOf, definitionVersion, type BuiltinDefinition, type BuiltinKind } from "./definitions.js";
export type { DocPassage, DocsSearch } from "./docs-agent.js";
export { inferCapabilities } from "../../mesh/infer.js";

export interface BuiltinDeps {
  /** The docs index; the docs agent reports itself unhealthy without it. */
  docs?: DocsSearch;
}

/** Lets the event loop breathe between steps, and stops on cancel. */
async function checkpoint(signal: AbortSignal): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  signal.throwIfAborted();
}

async function* runScanner(call: AgentCall): AsyncGenerator<AgentEvent> {
  yield { type: "progress", message: "reading code from the task", progress: 0, total: 2 };
  await checkpoint(call.signal);
  const report = scanCode(call.task, call.context, call.signal);
  if (report.sources.length === 0) throw new Error("no code found: paste code in the task (ideally in a ``` block) or pass it as context.code");
  yield { type: "progress", message: `scanned ${report.sources.map((s) => s.name).join(", ")}`, progress: 1, total: 2 };
  await checkpoint(call.signal);
  const text = formatScanReport(report);
  yield { type: "output", text };
  yield { type: "result", text, data: { findings: report.findings, summary: report.summary, sources: report.sources } as unknown as Record<string, unknown> };
}

async function* runAnalyst(call: AgentCall): AsyncGenerator<AgentEvent> {
  yield { type: "progress", message: "parsing the table", progress: 0, total: 2 };
  await checkpoint(call.signal);
  const analysis = analyseTask(call.task, call.context);
  yield { type: "progress", message: `computed statistics for ${analysis.columns.length} columns over ${analysis.rowCount} rows`, progress: 1, total: 2 };
  await checkpoint(call.signal);
  const text = formatAnalysis(analysis);
  yield { type: "output", text };
  yield { type: "result", text, data: analysis as unknown as Record<string, unknown> };
}

async function* runDocs(call: AgentCall, docs: DocsSearch | undefined): AsyncGenerator<AgentEvent> {
  if (!docs) throw new Error("the docs index is not available in this process");
  const question = questionOf(call.task, call.context);
  if (!question) throw new Error("task: ask a question about MeshAI");
  yield { type: "progress", message: "searching MeshAI's docs", progress: 0, total: 2 };
  const passages = await docs.searchDocs(question, 5);
  call.signal.throwIfAborted();
  yield { type: "progress", message: `found ${passages.length} relevant section${passages.length === 1 ? "" : "s"}`, progress: 1, total: 2 };
  const answer = composeAnswer(question, passages);
  yield { type: "output", text: answer.text };
  yield { type: "result", text: answer.text, data: { citations: answer.citations } };
}

/**
 * The "builtin" protocol: agents that run inside MeshAI with no outside
 * service. Which one runs is decided by the agent record (`config.builtin`
 * or its id); see BUILTIN_AGENTS.
 *
 * @example
 * const adapter = createBuiltinAdapter({ docs: platform.search });
 * for await (const ev of adapter.run(agent, call)) console.log(ev);
 */
export function createBuiltinAdapter(deps: BuiltinDeps = {}): AgentAdapter {
  const runners: Record<BuiltinKind, (call: AgentCall) => AsyncGenerator<AgentEvent>> = {
    "security-scanner": runScanner,
    "data-analyst": runAnalyst,
    docs: (call) => runDocs(call, deps.docs),
  };
  return {
    protocol: "builtin",
    run(agent: AgentRecord, call: AgentCall): AsyncIterable<AgentEvent> {
      const kind = builtinKindOf(agent);
      if (!kind) {
        const known = BUILTIN_AGENTS.map((d) => d.kind).join(", ");
        return (async function* () {
          throw new Error(`agent ${agent.id} is not a known built-in (config.builtin must be one of ${known})`);
        })();
      }
      const runner = runners[kind];
      return (async function* () {
        call.signal.throwIfAborted();
        yield* runner(call);
      })();
    },
    async health(agent: AgentRecord): Promise<HealthVerdict> {
      const kind = builtinKindOf(agent);
      if (!kind) return { health: "unhealthy", detail: `not a known built-in: set config.builtin to one of ${BUILTIN_AGENTS.map((d) => d.kind).join(", ")}` };
      if (kind === "docs" && !deps.docs) return { health: "unhealthy", detail: "the docs index is not available" };
      return { health: "healthy", detail: "runs inside MeshAI" };
    },
  };
}

import { createHash } from "node:crypto";

/**
 * The agents MeshAI ships: what bootstrap registers so that a fresh install
 * can run real tasks. Each advertises only what it truly does.
 */

export type BuiltinKind = "security-scanner" | "data-analyst" | "docs";

export interface BuiltinDefinition {
  id: string;
  kind: BuiltinKind;
  name: string;
  description: string;
  framework: string;
  capabilities: string[];
  tags: string[];
  maxConcurrentTasks: number;
}

export const BUILTIN_AGENTS: readonly BuiltinDefinition[] = [
  {
    id: "builtin.security-scanner",
    kind: "security-scanner",
    name: "Code Security Scanner",
    description:
      "Static security analysis of source code pasted in the task (fenced blocks or plain text) or passed as context.code / context.files. " +
      "Finds code and command injection (eval, exec, new Function, child_process, os.system, shell=True), SQL built by string " +
      "concatenation or interpolation, hard-coded secrets (API keys, passwords, private keys; pattern and entropy checks), weak " +
      "hashes (MD5/SHA-1), insecure randomness for secrets, disabled TLS verification, unsafe deserialisation (pickle, yaml.load, " +
      "ObjectInputStream, unserialize), path traversal and SSRF from request data, XSS and debug mode, in Python, JavaScript/TypeScript, Java, Go, PHP, Ruby and C#. Reports each " +
      "finding with its line number, severity, rule id, CWE, the offending code and a concrete fix.",
    framework: "meshai",
    capabilities: ["security_analysis"],
    tags: ["builtin", "security", "sast", "code"],
    maxConcurrentTasks: 8,
  },
  {
    id: "builtin.data-analyst",
    kind: "data-analyst",
    name: "Data Analyst",
    description:
      "Descriptive statistics for a table pasted in the task or passed as context.data: CSV/TSV (quoted fields, delimiter sniffed) " +
      "or JSON (an array of objects). Infers each column's type and reports count, missing, unique, mean, median, standard " +
      "deviation, min, max and quartiles for numbers, top values for categories, date ranges, and Pearson correlations between " +
      "numeric columns, plus per-group count, sum and mean when asked \"by <column>\", as text and as structured data.",
    framework: "meshai",
    capabilities: ["data_analysis"],
    tags: ["builtin", "statistics", "csv", "json"],
    maxConcurrentTasks: 8,
  },
  {
    id: "builtin.docs",
    kind: "docs",
    name: "MeshAI Docs",
    description:
      "Answers questions about MeshAI itself (connecting ChatGPT, OAuth, agents, routing, tasks, gRPC, search) from MeshAI's own " +
      "documentation, quoting the most relevant passages and citing each doc section with its id and URL.",
    framework: "meshai",
    capabilities: ["documentation"],
    tags: ["builtin", "docs", "help"],
    maxConcurrentTasks: 8,
  },
];

/** A fingerprint of the shipped definition: bootstrap updates a stored built-in when it changes. */
export function definitionVersion(d: BuiltinDefinition): string {
  return createHash("sha256").update(JSON.stringify(d)).digest("hex").slice(0, 16);
}

/** The built-in an agent record runs: `config.builtin`, else its id. */
export function builtinKindOf(agent: { id: string; config: Record<string, unknown> }): BuiltinKind | undefined {
  const named = agent.config.builtin;
  const byConfig = BUILTIN_AGENTS.find((d) => d.kind === named);
  return byConfig?.kind ?? BUILTIN_AGENTS.find((d) => d.id === agent.id)?.kind;
}

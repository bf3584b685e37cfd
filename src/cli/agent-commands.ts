import { type Command, InvalidArgumentError } from "commander";
import type { Config } from "../config.js";
import type { AgentInput } from "../core/mesh/registry.js";
import type { AgentRecord } from "../core/store/agents.js";
import { isoTime, readPassword, UsageError, withPlatform } from "./support.js";

/** A whole number flag value, refused at parse time rather than stored as NaN. */
export function wholeNumber(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError("must be a whole number");
  return Number(value);
}

interface UpdateFlags {
  name?: string;
  description?: string;
  framework?: string;
  protocol?: string;
  endpoint?: string;
  capability?: string[];
  tag?: string[];
  maxConcurrent?: number;
  model?: string;
  tokenStdin: boolean;
  clearToken: boolean;
}

/**
 * The fields and update-mask paths an `agent update` changes: exactly what an
 * UpdateAgent RPC with that mask does, through the same registry code.
 */
export function agentUpdate(current: AgentRecord, f: UpdateFlags, bearerToken: string): { input: AgentInput; paths: string[] } {
  const input: AgentInput = {};
  const paths: string[] = [];
  const set = <K extends keyof AgentInput>(path: string, key: K, value: AgentInput[K] | undefined) => {
    if (value === undefined) return;
    input[key] = value;
    paths.push(path);
  };
  set("name", "name", f.name);
  set("description", "description", f.description);
  set("framework", "framework", f.framework);
  set("protocol", "protocol", f.protocol);
  set("endpoint", "endpoint", f.endpoint);
  set("capabilities", "capabilities", f.capability);
  set("tags", "tags", f.tag);
  set("max_concurrent_tasks", "maxConcurrentTasks", f.maxConcurrent);
  // The model is one key of the protocol settings: the others stay.
  set("config", "config", f.model === undefined ? undefined : { ...current.config, model: f.model });
  if (f.tokenStdin && f.clearToken) throw new UsageError("give either --token-stdin or --clear-token, not both");
  if (f.tokenStdin) set("credentials", "credentials", { bearerToken });
  if (f.clearToken) {
    input.credentials = null;
    paths.push("credentials");
  }
  if (paths.length === 0) throw new UsageError("name at least one field to change (see meshai agent update --help)");
  return { input, paths };
}

function percent(a: AgentRecord): string {
  const total = a.successCount + a.failureCount;
  return total ? `${Math.round((a.successCount / total) * 100)}% of ${total} succeeded` : "no tasks yet";
}

/** `agent show`: every stored field but the credentials, which only show as stored or not. */
function describeAgent(a: AgentRecord): string {
  const rows: Array<[string, string]> = [
    ["id", a.id],
    ["name", a.name],
    ["description", a.description || "-"],
    ["framework", a.framework || "-"],
    ["protocol", a.protocol],
    ["endpoint", a.endpoint || "-"],
    ["capabilities", a.capabilities.join(", ")],
    ["tags", a.tags.join(", ") || "-"],
    ["max concurrent", String(a.maxConcurrentTasks)],
    ["config", Object.keys(a.config).length ? JSON.stringify(a.config) : "-"],
    ["credentials", a.credentials ? "stored (never shown)" : "none"],
    ["enabled", a.enabled ? "yes" : "no (not routed to)"],
    ["health", `${a.health}${a.healthDetail ? ` (${a.healthDetail})` : ""}`],
    ["last check", isoTime(a.lastHealthCheckAt, "never")],
    ["tasks", percent(a)],
    ["avg latency", `${Math.round(a.avgLatencyMs)} ms`],
    ["created", isoTime(a.createdAt)],
    ["updated", isoTime(a.updatedAt)],
  ];
  return rows.map(([k, v]) => `${k.padEnd(15)}${v}`).join("\n");
}

/**
 * `meshai agent update | enable | disable | show`: the console's agent
 * actions, on the database through the registry the MeshService RPCs use.
 */
export function addAgentAdminCommands(agent: Command, config: () => Config): void {
  agent
    .command("update <id>")
    .description("change an agent's fields (only the flags given change; same as UpdateAgent with those update_mask paths)")
    .option("--name <name>", "display name")
    .option("--description <text>", "what the agent does")
    .option("--framework <name>", "langchain, crewai, autogen, ...")
    .option("--protocol <protocol>", "a2a, openai, langserve, langgraph or meshai_http")
    .option("--endpoint <url>", "base URL of the agent")
    .option("--capability <cap...>", "replaces the capabilities")
    .option("--tag <tag...>", "replaces the tags")
    .option("--max-concurrent <n>", "tasks it may run at once", wholeNumber)
    .option("--model <model>", "model name (openai protocol); other config keys are kept")
    .option("--token-stdin", "replace the stored bearer token with one read from standard input", false)
    .option("--clear-token", "forget the stored credentials", false)
    .action(async (id: string, opts: UpdateFlags) => {
      const bearerToken = opts.tokenStdin ? await readPassword({ passwordStdin: true }) : "";
      if (opts.tokenStdin && !bearerToken) throw new UsageError("--token-stdin: standard input was empty");
      await withPlatform(config(), async (p) => {
        const { input, paths } = agentUpdate(await p.registry.get(id), opts, bearerToken);
        const a = await p.registry.update(id, input, paths);
        console.log(`updated agent ${a.id}: ${paths.join(", ")}`);
      });
    });

  for (const [name, enabled] of [
    ["enable", true],
    ["disable", false],
  ] as const) {
    agent
      .command(`${name} <id>`)
      .description(enabled ? "route tasks to the agent again" : "stop routing tasks to the agent without removing it (running tasks finish)")
      .action(async (id: string) => {
        await withPlatform(config(), async (p) => {
          const a = await p.registry.update(id, { enabled }, ["enabled"]);
          console.log(`agent ${a.id} is ${a.enabled ? "enabled" : "disabled"}`);
        });
      });
  }

  agent
    .command("show <id>")
    .description("one agent in full: settings, health with its last check and detail, and statistics")
    .option("--json", "print JSON (credentials only as hasCredentials)")
    .action(async (id: string, opts: { json?: boolean }) => {
      await withPlatform(config(), async (p) => {
        const { credentials, ...a } = await p.registry.get(id);
        if (opts.json) {
          console.log(JSON.stringify({ ...a, hasCredentials: credentials !== null }, null, 2));
          return;
        }
        console.log(describeAgent({ ...a, credentials }));
      });
    });
}

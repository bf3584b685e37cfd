import { Code, ConnectError } from "@connectrpc/connect";
import type { Registry } from "../../mesh/registry.js";
import { BUILTIN_AGENTS, type BuiltinDefinition, definitionVersion } from "./definitions.js";

function shipped(d: BuiltinDefinition) {
  return {
    name: d.name,
    description: d.description,
    framework: d.framework,
    capabilities: d.capabilities,
    tags: d.tags,
    maxConcurrentTasks: d.maxConcurrentTasks,
    config: { builtin: d.kind, definition_version: definitionVersion(d) },
  };
}

/**
 * Puts the shipped built-in agents in the registry: inserts missing ones,
 * updates those whose shipped definition changed, leaves the rest alone.
 * An admin's choice to disable one is kept (`enabled` is never touched).
 * Returns the ids it inserted or updated.
 */
export async function ensureBuiltinAgents(registry: Registry): Promise<{ inserted: string[]; updated: string[] }> {
  const inserted: string[] = [];
  const updated: string[] = [];
  for (const d of BUILTIN_AGENTS) {
    const want = shipped(d);
    const current = await registry.get(d.id).catch((e: unknown) => {
      if (e instanceof ConnectError && e.code === Code.NotFound) return undefined;
      throw e;
    });
    if (!current) {
      try {
        await registry.register({ id: d.id, protocol: "builtin", endpoint: "", enabled: true, credentials: null, ...want });
        inserted.push(d.id);
      } catch (e) {
        // Another replica registered it first.
        if (!(e instanceof ConnectError && e.code === Code.AlreadyExists)) throw e;
      }
      continue;
    }
    if (current.protocol === "builtin" && current.config.definition_version === want.config.definition_version) continue;
    await registry.update(d.id, { ...want, protocol: "builtin", endpoint: "" }, [
      "name",
      "description",
      "framework",
      "capabilities",
      "tags",
      "max_concurrent_tasks",
      "config",
      "protocol",
      "endpoint",
    ]);
    updated.push(d.id);
  }
  return { inserted, updated };
}

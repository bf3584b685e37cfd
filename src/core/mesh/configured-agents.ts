import type { Config } from "../../config.js";
import type { Registry } from "./registry.js";

/** The id of the LLM agent registered from OPENAI_API_KEY / OPENAI_BASE_URL. */
export const OPENAI_AGENT_ID = "llm.openai";

/**
 * Registers (or brings up to date) the OpenAI-compatible LLM agent the
 * environment describes, so text_generation works on a fresh install that has
 * an API key or a local Ollama/vLLM/llama.cpp URL. Does nothing without them.
 */
export async function registerConfiguredAgents(registry: Registry, openai: Config["openai"]): Promise<void> {
  if (!openai) return;
  const input = {
    name: `LLM (${openai.model})`,
    description: `OpenAI-compatible chat model ${openai.model} at ${new URL(openai.baseUrl).host}, registered from OPENAI_API_KEY/OPENAI_BASE_URL.`,
    framework: "openai",
    capabilities: ["text_generation", "code_generation", "reasoning"],
    protocol: "openai",
    endpoint: openai.baseUrl,
    tags: ["llm", "configured"],
    maxConcurrentTasks: 8,
    config: { model: openai.model },
    credentials: openai.apiKey ? { bearerToken: openai.apiKey } : null,
  };
  try {
    const existing = await registry.get(OPENAI_AGENT_ID).catch(() => undefined);
    if (existing) {
      await registry.update(OPENAI_AGENT_ID, input, ["name", "description", "endpoint", "config", "credentials"]);
    } else {
      await registry.register({ id: OPENAI_AGENT_ID, ...input });
    }
  } catch (e) {
    // Another replica registered it at the same moment: theirs is as good as ours.
    if (!(await registry.get(OPENAI_AGENT_ID).catch(() => undefined))) throw e;
  }
}

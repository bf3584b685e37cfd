import type { OutboundFetch } from "../net/outbound.js";
import { createOutboundFetch, createStreamingFetch } from "../net/outbound.js";
import { createA2aAdapter } from "./a2a.js";
import type { AgentAdapter } from "./adapter.js";
import { type BuiltinDeps, createBuiltinAdapter } from "./builtin/index.js";
import { createLangGraphAdapter } from "./langgraph.js";
import { createLangServeAdapter } from "./langserve.js";
import { createMeshAiHttpAdapter } from "./meshai-http.js";
import { createOpenAiAdapter } from "./openai.js";

export interface AdapterDeps {
  /** Allow agents on private, loopback and link-local addresses (MESHAI_ALLOW_PRIVATE_NETWORK). */
  allowPrivateNetwork: boolean;
  /** The docs index for the built-in docs agent. */
  docs?: BuiltinDeps["docs"];
  /** Overrides for tests; by default the SSRF-guarded fetches from net/outbound.ts. */
  fetch?: OutboundFetch;
  streamingFetch?: OutboundFetch;
  /** How often a non-streaming A2A task is polled first (ms). */
  a2aPollIntervalMs?: number;
}

/** One adapter per protocol name, as agents store it (a2a, openai, langserve, langgraph, meshai_http, builtin). */
export function createAdapters(deps: AdapterDeps): Map<string, AgentAdapter> {
  const http = {
    fetch: deps.fetch ?? createOutboundFetch({ allowPrivateNetwork: deps.allowPrivateNetwork, timeoutMs: 10_000 }),
    streamingFetch: deps.streamingFetch ?? createStreamingFetch({ allowPrivateNetwork: deps.allowPrivateNetwork }),
  };
  const adapters: AgentAdapter[] = [
    createA2aAdapter({ ...http, pollIntervalMs: deps.a2aPollIntervalMs }),
    createOpenAiAdapter(http),
    createLangServeAdapter(http),
    createLangGraphAdapter(http),
    createMeshAiHttpAdapter(http),
    createBuiltinAdapter({ docs: deps.docs }),
  ];
  return new Map(adapters.map((a) => [a.protocol, a]));
}

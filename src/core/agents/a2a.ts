import { randomUUID } from "node:crypto";
import { type AgentCard, type Message, type Part, Role, type StreamResponse, type Task, TaskState } from "@a2a-js/sdk";
import {
  type Client,
  ClientFactory,
  ClientFactoryOptions,
  DefaultAgentCardResolver,
  JsonRpcTransportFactory,
  RestTransportFactory,
} from "@a2a-js/sdk/client";
import type { OutboundFetch } from "../net/outbound.js";
import type { AgentRecord } from "../store/agents.js";
import type { AgentAdapter, AgentCall, AgentEvent, HealthVerdict } from "./adapter.js";
import { type AgentHttpDeps, agentHeaders, joinUrl, networkFailure, promptOf } from "./agent-http.js";

const CARD_PATH = ".well-known/agent-card.json";
/** Where cards lived before A2A 0.3. */
const OLD_CARD_PATH = ".well-known/agent.json";
const CARD_TTL_MS = 60_000;

const TERMINAL = new Set([TaskState.TASK_STATE_COMPLETED, TaskState.TASK_STATE_FAILED, TaskState.TASK_STATE_CANCELED, TaskState.TASK_STATE_REJECTED]);
const NEEDS_INPUT = new Set([TaskState.TASK_STATE_INPUT_REQUIRED, TaskState.TASK_STATE_AUTH_REQUIRED]);

const stateName = (s: TaskState | undefined) => (s === undefined ? "unknown" : (TaskState[s] ?? String(s)).replace(/^TASK_STATE_/, "").toLowerCase().replace(/_/g, "-"));

function partsText(parts: Part[] | undefined): string {
  return (parts ?? [])
    .map((p) => {
      switch (p.content?.$case) {
        case "text": return p.content.value;
        case "data": return JSON.stringify(p.content.value);
        case "url": return p.content.value;
        default: return "";
      }
    })
    .filter(Boolean)
    .join("");
}

const taskArtifactsText = (t: Task) => (t.artifacts ?? []).map((a) => partsText(a.parts)).filter(Boolean).join("\n");

/** A fetch for one agent: guarded (outbound.ts), with the agent's own credentials sent only to the agent's origin. */
function agentFetch(agent: AgentRecord, base: OutboundFetch): typeof fetch {
  const origins = new Set<string>();
  for (const u of [agent.endpoint, typeof agent.config.card_url === "string" ? agent.config.card_url : ""]) {
    try {
      if (u) origins.add(new URL(u).origin);
    } catch {
      /* validated elsewhere */
    }
  }
  const creds = agentHeaders(agent);
  return (async (input: string | URL | Request, init: RequestInit = {}) => {
    const url = input instanceof Request ? input.url : input;
    const headers = new Headers(init.headers ?? (input instanceof Request ? input.headers : undefined));
    if (origins.has(new URL(url).origin)) for (const [k, v] of Object.entries(creds)) headers.set(k, v);
    return base(url, { ...init, headers });
  }) as typeof fetch;
}

/** Where an agent's card is: config.card_url, an endpoint that is itself a .json card, or the well-known path. */
function cardLocations(agent: AgentRecord): string[] {
  if (typeof agent.config.card_url === "string" && agent.config.card_url) return [agent.config.card_url];
  if (/\.json(\?|$)/.test(agent.endpoint)) return [agent.endpoint];
  return [joinUrl(agent.endpoint, CARD_PATH), joinUrl(agent.endpoint, OLD_CARD_PATH)];
}

/** Fetches and normalises an A2A card (1.0, or 0.3 translated by the SDK's compat layer). */
export async function resolveAgentCard(urls: string[], fetchImpl: typeof fetch): Promise<AgentCard> {
  const resolver = new DefaultAgentCardResolver({ fetchImpl, legacyCompat: { enabled: true } });
  let lastError: unknown;
  for (const url of urls) {
    try {
      const card = await resolver.resolve(url, "");
      if (!card || typeof card.name !== "string" || !card.name) throw new Error("the card has no name");
      if (!card.supportedInterfaces?.length) throw new Error("the card names no interface (url) to call");
      return card;
    } catch (e) {
      lastError = e;
    }
  }
  const why = lastError instanceof Error ? lastError.message : String(lastError);
  throw new Error(`could not read the A2A agent card (${urls.join(" or ")}): ${why}`);
}

const CAPABILITY = /^[a-z][a-z0-9_.:-]{0,63}$/;

/** What registering from a card imports: name, description, skills as capabilities and tags. */
export function agentFromCard(card: AgentCard, cardUrl: string) {
  const caps = new Set<string>();
  const tags = new Set<string>();
  for (const s of card.skills ?? []) {
    for (const raw of [s.id, ...(s.tags ?? [])]) {
      const c = String(raw ?? "").trim().toLowerCase().replace(/[\s-]+/g, "_").replace(/[^a-z0-9_.:]/g, "");
      if (CAPABILITY.test(c)) caps.add(c);
    }
    for (const t of s.tags ?? []) if (/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$/.test(t)) tags.add(t);
  }
  return {
    name: card.name,
    description: card.description ?? "",
    capabilities: [...caps].slice(0, 32),
    tags: [...tags].slice(0, 32),
    endpoint: new URL(cardUrl).origin,
    config: {
      card_url: cardUrl,
      streaming: Boolean(card.capabilities?.streaming),
      skills: (card.skills ?? []).map((s) => ({ id: s.id, name: s.name, description: s.description })),
      version: card.version ?? "",
    } as Record<string, unknown>,
  };
}

/**
 * A2A agents through @a2a-js/sdk's client (JSON-RPC or HTTP+JSON, spec 1.0,
 * and 0.3 peers through the SDK's compat layer). Streams with
 * SendStreamingMessage when the card says capabilities.streaming, else sends
 * and polls GetTask; on abort it calls CancelTask on the remote task.
 */
export function createA2aAdapter(deps: AgentHttpDeps & { pollIntervalMs?: number }): AgentAdapter {
  const cards = new Map<string, { card: AgentCard; at: number; version: number }>();
  const pollMs = deps.pollIntervalMs ?? 500;

  async function cardOf(agent: AgentRecord): Promise<AgentCard> {
    const hit = cards.get(agent.id);
    if (hit && hit.version === agent.updatedAt && Date.now() - hit.at < CARD_TTL_MS) return hit.card;
    const card = await resolveAgentCard(cardLocations(agent), agentFetch(agent, deps.fetch));
    cards.set(agent.id, { card, at: Date.now(), version: agent.updatedAt });
    return card;
  }

  async function clientOf(agent: AgentRecord, card: AgentCard): Promise<Client> {
    const fetchImpl = agentFetch(agent, deps.streamingFetch);
    const factory = new ClientFactory(
      ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
        transports: [new JsonRpcTransportFactory({ fetchImpl, legacyCompat: { enabled: true } }), new RestTransportFactory({ fetchImpl, legacyCompat: { enabled: true } })],
        clientConfig: { polling: true },
      }),
    );
    return factory.createFromAgentCard(card);
  }

  return {
    protocol: "a2a",

    async *run(agent: AgentRecord, call: AgentCall): AsyncGenerator<AgentEvent> {
      let card: AgentCard;
      try {
        card = await cardOf(agent);
      } catch (e) {
        throw new Error(`${(e as Error).message} [agent ${agent.id}]`);
      }
      const client = await clientOf(agent, card);
      const message: Message = {
        messageId: randomUUID(),
        contextId: "",
        taskId: "",
        role: Role.ROLE_USER,
        parts: [{ content: { $case: "text", value: promptOf(call.task, call.context) }, metadata: undefined, filename: "", mediaType: "text/plain" }],
        metadata: { meshai_task_id: call.taskId },
        extensions: [],
        referenceTaskIds: [],
      };
      const signal = call.signal;
      let remoteId = "";
      let lastState: TaskState | undefined;
      let output = "";

      /** Turns one A2A update into MeshAI events; returns the final text when the task is done. */
      function* handle(update: StreamResponse): Generator<AgentEvent, string | undefined> {
        const p = update.payload;
        if (!p) return undefined;
        if (p.$case === "message") {
          const text = partsText(p.value.parts);
          if (text) {
            output += text;
            yield { type: "output", text };
          }
          return output;
        }
        let state: TaskState | undefined;
        let statusText = "";
        if (p.$case === "task") {
          remoteId ||= p.value.id;
          state = p.value.status?.state;
          statusText = partsText(p.value.status?.message?.parts);
          if (state !== undefined && TERMINAL.has(state) && !output) {
            const text = taskArtifactsText(p.value);
            if (text) {
              output += text;
              yield { type: "output", text };
            }
          }
        } else if (p.$case === "statusUpdate") {
          remoteId ||= p.value.taskId;
          state = p.value.status?.state;
          statusText = partsText(p.value.status?.message?.parts);
        } else if (p.$case === "artifactUpdate") {
          remoteId ||= p.value.taskId;
          const text = partsText(p.value.artifact?.parts);
          if (text) {
            output += text;
            yield { type: "output", text };
          }
          return undefined;
        }
        if (state === undefined) return undefined;
        if (state !== lastState && !TERMINAL.has(state)) {
          yield { type: "progress", message: `A2A task ${remoteId} is ${stateName(state)}${statusText ? `: ${statusText}` : ""}` };
        } else if (statusText && state === TaskState.TASK_STATE_WORKING) {
          yield { type: "progress", message: statusText };
        }
        lastState = state;
        if (state === TaskState.TASK_STATE_COMPLETED) {
          if (!output && statusText) {
            output = statusText;
            yield { type: "output", text: statusText };
          }
          return output;
        }
        if (state === TaskState.TASK_STATE_FAILED || state === TaskState.TASK_STATE_REJECTED) {
          throw new Error(`the A2A agent reported ${stateName(state)}${statusText ? `: ${statusText}` : ""} [agent ${agent.id}]`);
        }
        if (state === TaskState.TASK_STATE_CANCELED) throw new Error(`the A2A agent cancelled the task on its side [agent ${agent.id}]`);
        if (NEEDS_INPUT.has(state)) {
          throw new Error(`the A2A agent needs more input (${stateName(state)}), which a MeshAI task cannot give${statusText ? `: ${statusText}` : ""} [agent ${agent.id}]`);
        }
        return undefined;
      }

      const params = { tenant: "", message, configuration: undefined, metadata: undefined };
      try {
        let final: string | undefined;
        if (card.capabilities?.streaming) {
          for await (const update of client.sendMessageStream(params, { signal })) {
            final = yield* handle(update);
            if (final !== undefined) break;
          }
        } else {
          const first = await client.sendMessage(params, { signal });
          final = yield* handle("messageId" in first ? { payload: { $case: "message", value: first } } : { payload: { $case: "task", value: first } });
        }
        // Not finished yet (polling agent, or a stream that closed early): poll GetTask.
        let delay = pollMs;
        while (final === undefined) {
          if (!remoteId) throw new Error(`the A2A agent ended its answer without a task or message [agent ${agent.id}]`);
          await new Promise((r) => setTimeout(r, delay));
          delay = Math.min(delay * 1.5, 5_000);
          signal.throwIfAborted();
          const task = await client.getTask({ tenant: "", id: remoteId }, { signal });
          final = yield* handle({ payload: { $case: "task", value: task } });
        }
        yield { type: "result", text: final, data: remoteId ? { a2a_task_id: remoteId } : undefined };
      } catch (e) {
        if (signal.aborted && remoteId && (lastState === undefined || !TERMINAL.has(lastState))) {
          await client.cancelTask({ tenant: "", id: remoteId, metadata: undefined }, { signal: AbortSignal.timeout(5_000) }).catch(() => undefined);
        }
        if (signal.aborted) throw e;
        const err = e as Error;
        if (err.message?.includes("[agent ")) throw err;
        if ((err as { cause?: unknown }).cause || err.name === "TypeError") throw networkFailure(agent, e, "the A2A agent");
        throw new Error(`the A2A agent call failed: ${err.message ?? String(e)} [agent ${agent.id}]`);
      }
    },

    async health(agent: AgentRecord, signal: AbortSignal): Promise<HealthVerdict> {
      try {
        const fetchImpl = agentFetch(agent, (url, init) => deps.fetch(url, { ...init, signal }));
        const card = await resolveAgentCard(cardLocations(agent), fetchImpl);
        cards.set(agent.id, { card, at: Date.now(), version: agent.updatedAt });
        return { health: "healthy", detail: `agent card of ${card.name}${card.version ? ` ${card.version}` : ""} read` };
      } catch (e) {
        return { health: "unhealthy", detail: (e as Error).message };
      }
    },
  };
}

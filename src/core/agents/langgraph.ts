import type { AgentRecord } from "../store/agents.js";
import type { AgentAdapter, AgentCall, AgentEvent, HealthVerdict } from "./adapter.js";
import { type AgentHttpDeps, agentHeaders, httpFailure, joinUrl, networkFailure, parseSse, promptOf, readJson, textOf } from "./agent-http.js";

interface LgMessage {
  type?: string;
  role?: string;
  content?: unknown;
}

const isAi = (m: LgMessage) => m.type === "ai" || m.type === "AIMessageChunk" || m.type === "AIMessage" || m.role === "assistant";

/** The last AI message's text in a LangGraph state ({messages: [...]}). */
function lastAiText(values: unknown): string {
  const messages = (values as { messages?: LgMessage[] })?.messages;
  if (!Array.isArray(messages)) return textOf(values);
  for (let i = messages.length - 1; i >= 0; i--) if (isAi(messages[i]!)) return textOf(messages[i]!.content);
  return "";
}

/**
 * LangGraph Agent Server: a stateless run, `POST <endpoint>/runs/stream` with
 * stream_mode messages-tuple (token deltas) and values (the final state), or
 * `POST <endpoint>/runs/wait` with config.stream = false. config.assistant_id
 * names the graph (default "agent").
 */
export function createLangGraphAdapter(deps: AgentHttpDeps): AgentAdapter {
  return {
    protocol: "langgraph",

    async *run(agent: AgentRecord, call: AgentCall): AsyncGenerator<AgentEvent> {
      const streaming = agent.config.stream !== false;
      const url = joinUrl(agent.endpoint, streaming ? "runs/stream" : "runs/wait");
      const assistant = typeof agent.config.assistant_id === "string" && agent.config.assistant_id ? agent.config.assistant_id : "agent";
      const body: Record<string, unknown> = {
        assistant_id: assistant,
        input: { messages: [{ role: "user", content: promptOf(call.task, call.context) }] },
      };
      if (streaming) body.stream_mode = ["messages-tuple", "values"];
      let res: Response;
      try {
        res = await deps.streamingFetch(url, {
          method: "POST",
          headers: agentHeaders(agent, { "content-type": "application/json", accept: streaming ? "text/event-stream" : "application/json" }),
          body: JSON.stringify(body),
          signal: call.signal,
        });
      } catch (e) {
        if (call.signal.aborted) throw e;
        throw networkFailure(agent, e, url);
      }
      if (!res.ok) throw await httpFailure(agent, res, `POST /${streaming ? "runs/stream" : "runs/wait"}`);
      if (!streaming) {
        const values = await readJson(agent, res, "POST /runs/wait");
        const text = lastAiText(values);
        yield { type: "output", text };
        yield { type: "result", text, data: { values } as Record<string, unknown> };
        return;
      }
      let streamed = "";
      let finalValues: unknown;
      let sawEnd = false;
      for await (const msg of parseSse(res.body!)) {
        if (msg.event === "end") {
          sawEnd = true;
          break;
        }
        if (msg.event === "metadata") {
          yield { type: "progress", message: "run started on the LangGraph server" };
          continue;
        }
        if (!msg.data.trim()) continue;
        let payload: unknown;
        try {
          payload = JSON.parse(msg.data);
        } catch {
          throw new Error(`POST /runs/stream sent data that is not JSON: ${JSON.stringify(msg.data.slice(0, 120))} [agent ${agent.id}]`);
        }
        if (msg.event === "error") {
          const p = payload as { error?: string; message?: string };
          throw new Error(`the graph run failed: ${p.message ?? p.error ?? msg.data} [agent ${agent.id}]`);
        }
        if (msg.event === "values") {
          finalValues = payload;
        } else if (msg.event.startsWith("messages")) {
          const chunk = (Array.isArray(payload) ? payload[0] : payload) as LgMessage;
          if (chunk && isAi(chunk)) {
            const delta = textOf(chunk.content);
            if (delta) {
              streamed += delta;
              yield { type: "output", text: delta };
            }
          }
        }
      }
      if (!sawEnd && finalValues === undefined) throw new Error(`POST /runs/stream ended before the run finished (connection dropped?) [agent ${agent.id}]`);
      const text = finalValues !== undefined ? lastAiText(finalValues) || streamed : streamed;
      if (!streamed && text) yield { type: "output", text };
      yield { type: "result", text };
    },

    async health(agent: AgentRecord, signal: AbortSignal): Promise<HealthVerdict> {
      const url = joinUrl(agent.endpoint, "ok");
      try {
        const res = await deps.fetch(url, { headers: agentHeaders(agent), signal });
        await res.body?.cancel();
        if (res.ok) return { health: "healthy", detail: `GET /ok answered ${res.status}` };
        return { health: res.status >= 500 ? "unhealthy" : "degraded", detail: `GET /ok answered ${res.status}` };
      } catch (e) {
        return { health: "unhealthy", detail: networkFailure(agent, e, url).message };
      }
    },
  };
}

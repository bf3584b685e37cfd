import type { AgentRecord } from "../store/agents.js";
import type { AgentAdapter, AgentCall, AgentEvent, HealthVerdict } from "./adapter.js";
import { type AgentHttpDeps, agentHeaders, httpFailure, joinUrl, networkFailure, parseSse, promptOf, readJson } from "./agent-http.js";

interface ChatChunk {
  choices?: { delta?: { content?: string | null; reasoning_content?: string | null }; finish_reason?: string | null }[];
  error?: { message?: string };
  model?: string;
  usage?: Record<string, unknown>;
}

/**
 * OpenAI-compatible chat completions (OpenAI, Ollama, vLLM, llama.cpp):
 * `POST <endpoint>/chat/completions` with `stream: true`; each SSE chunk's
 * delta becomes an output event, `[DONE]` ends the answer. The endpoint is
 * the API base (e.g. https://api.openai.com/v1); config.model names the model,
 * config.system_prompt and config.temperature are optional.
 */
export function createOpenAiAdapter(deps: AgentHttpDeps): AgentAdapter {
  return {
    protocol: "openai",

    async *run(agent: AgentRecord, call: AgentCall): AsyncGenerator<AgentEvent> {
      const model = typeof agent.config.model === "string" && agent.config.model ? agent.config.model : "gpt-4o-mini";
      const messages: { role: string; content: string }[] = [];
      if (typeof agent.config.system_prompt === "string" && agent.config.system_prompt) messages.push({ role: "system", content: agent.config.system_prompt });
      messages.push({ role: "user", content: promptOf(call.task, call.context) });
      const body: Record<string, unknown> = { model, messages, stream: true };
      if (typeof agent.config.temperature === "number") body.temperature = agent.config.temperature;
      if (typeof agent.config.max_tokens === "number") body.max_tokens = agent.config.max_tokens;
      const url = joinUrl(agent.endpoint, "chat/completions");
      let res: Response;
      try {
        res = await deps.streamingFetch(url, {
          method: "POST",
          headers: agentHeaders(agent, { "content-type": "application/json", accept: "text/event-stream" }),
          body: JSON.stringify(body),
          signal: call.signal,
        });
      } catch (e) {
        if (call.signal.aborted) throw e;
        throw networkFailure(agent, e, url);
      }
      if (!res.ok) throw await httpFailure(agent, res, "the chat completions endpoint");
      const type = res.headers.get("content-type") ?? "";
      if (!type.includes("text/event-stream")) {
        // Some servers ignore stream:true; accept a whole completion too.
        const whole = (await readJson(agent, res, "the chat completions endpoint")) as { choices?: { message?: { content?: string } }[] };
        const text = whole.choices?.[0]?.message?.content;
        if (typeof text !== "string") throw new Error(`the chat completions endpoint answered without choices[0].message.content [agent ${agent.id}]`);
        yield { type: "output", text };
        yield { type: "result", text, data: { model } };
        return;
      }
      let text = "";
      let finish = "";
      let done = false;
      let chunks = 0;
      for await (const msg of parseSse(res.body!)) {
        if (msg.data.trim() === "[DONE]") {
          done = true;
          break;
        }
        if (!msg.data.trim()) continue;
        let chunk: ChatChunk;
        try {
          chunk = JSON.parse(msg.data) as ChatChunk;
        } catch {
          throw new Error(`the chat completions stream sent a chunk that is not JSON: ${JSON.stringify(msg.data.slice(0, 120))} [agent ${agent.id}]`);
        }
        if (chunk.error) throw new Error(`the model reported an error: ${chunk.error.message ?? JSON.stringify(chunk.error)} [agent ${agent.id}]`);
        if (!Array.isArray(chunk.choices)) throw new Error(`the chat completions stream sent a chunk without choices [agent ${agent.id}]`);
        chunks++;
        const choice = chunk.choices[0];
        const delta = choice?.delta?.content;
        if (delta) {
          text += delta;
          yield { type: "output", text: delta };
        }
        if (choice?.finish_reason) finish = choice.finish_reason;
      }
      if (!done && !finish) throw new Error(`the chat completions stream ended before [DONE] after ${chunks} chunks (connection dropped?) [agent ${agent.id}]`);
      if (finish === "content_filter") throw new Error(`the model stopped: content filtered [agent ${agent.id}]`);
      yield { type: "result", text, data: { model, finish_reason: finish || "stop" } };
    },

    async health(agent: AgentRecord, signal: AbortSignal): Promise<HealthVerdict> {
      const url = joinUrl(agent.endpoint, "models");
      try {
        const res = await deps.fetch(url, { headers: agentHeaders(agent, { accept: "application/json" }), signal });
        await res.body?.cancel();
        if (res.ok) return { health: "healthy", detail: `GET /models answered ${res.status}` };
        if (res.status === 401 || res.status === 403) return { health: "unhealthy", detail: `GET /models answered ${res.status}: credentials refused` };
        if (res.status === 404) return { health: "degraded", detail: "GET /models answered 404 (the server may not list models)" };
        return { health: res.status >= 500 ? "unhealthy" : "degraded", detail: `GET /models answered ${res.status}` };
      } catch (e) {
        return { health: "unhealthy", detail: networkFailure(agent, e, url).message };
      }
    },
  };
}

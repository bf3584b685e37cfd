import type { AgentRecord } from "../store/agents.js";
import type { AgentAdapter, AgentCall, AgentEvent, HealthVerdict } from "./adapter.js";
import { type AgentHttpDeps, agentHeaders, httpFailure, joinUrl, networkFailure, parseSse, promptOf, readJson, textOf } from "./agent-http.js";

/** The runnable's input: the task text, or {<config.input_key>: text} for runnables taking a dict. */
function inputOf(agent: AgentRecord, call: AgentCall): unknown {
  const text = promptOf(call.task, call.context);
  const key = agent.config.input_key;
  return typeof key === "string" && key ? { [key]: text } : text;
}

/**
 * LangServe runnables: `POST <endpoint>/stream` (SSE events data / metadata /
 * error / end) or, with config.stream = false, `POST <endpoint>/invoke`.
 */
export function createLangServeAdapter(deps: AgentHttpDeps): AgentAdapter {
  return {
    protocol: "langserve",

    async *run(agent: AgentRecord, call: AgentCall): AsyncGenerator<AgentEvent> {
      const streaming = agent.config.stream !== false;
      const url = joinUrl(agent.endpoint, streaming ? "stream" : "invoke");
      let res: Response;
      try {
        res = await deps.streamingFetch(url, {
          method: "POST",
          headers: agentHeaders(agent, { "content-type": "application/json", accept: streaming ? "text/event-stream" : "application/json" }),
          body: JSON.stringify({ input: inputOf(agent, call), config: {}, kwargs: {} }),
          signal: call.signal,
        });
      } catch (e) {
        if (call.signal.aborted) throw e;
        throw networkFailure(agent, e, url);
      }
      if (!res.ok) throw await httpFailure(agent, res, `POST ${streaming ? "/stream" : "/invoke"}`);
      if (!streaming) {
        const body = (await readJson(agent, res, "POST /invoke")) as { output?: unknown };
        if (!body || typeof body !== "object" || !("output" in body)) throw new Error(`POST /invoke answered without an output field [agent ${agent.id}]`);
        const text = textOf(body.output);
        yield { type: "output", text };
        yield { type: "result", text };
        return;
      }
      let text = "";
      let ended = false;
      for await (const msg of parseSse(res.body!)) {
        if (msg.event === "end") {
          ended = true;
          break;
        }
        if (!msg.data.trim()) continue;
        if (msg.event === "metadata") continue;
        let payload: unknown;
        try {
          payload = JSON.parse(msg.data);
        } catch {
          throw new Error(`POST /stream sent data that is not JSON: ${JSON.stringify(msg.data.slice(0, 120))} [agent ${agent.id}]`);
        }
        if (msg.event === "error") {
          const p = payload as { message?: string; status_code?: number };
          throw new Error(`the runnable failed${p.status_code ? ` (${p.status_code})` : ""}: ${p.message ?? msg.data} [agent ${agent.id}]`);
        }
        const chunk = textOf(payload);
        if (chunk) {
          text += chunk;
          yield { type: "output", text: chunk };
        }
      }
      if (!ended) throw new Error(`POST /stream ended without its end event (connection dropped?) [agent ${agent.id}]`);
      yield { type: "result", text };
    },

    async health(agent: AgentRecord, signal: AbortSignal): Promise<HealthVerdict> {
      const url = joinUrl(agent.endpoint, "input_schema");
      try {
        const res = await deps.fetch(url, { headers: agentHeaders(agent), signal });
        await res.body?.cancel();
        if (res.ok) return { health: "healthy", detail: `GET /input_schema answered ${res.status}` };
        return { health: res.status >= 500 || res.status === 404 ? "unhealthy" : "degraded", detail: `GET /input_schema answered ${res.status}` };
      } catch (e) {
        return { health: "unhealthy", detail: networkFailure(agent, e, url).message };
      }
    },
  };
}

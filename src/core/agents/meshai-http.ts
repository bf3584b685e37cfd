import type { AgentRecord } from "../store/agents.js";
import type { AgentAdapter, AgentCall, AgentEvent, HealthVerdict } from "./adapter.js";
import { type AgentHttpDeps, agentHeaders, httpFailure, joinUrl, networkFailure, readJson, textOf } from "./agent-http.js";

interface ExecuteAnswer {
  status?: unknown;
  result?: unknown;
  execution_time?: unknown;
  agent_id?: unknown;
  error?: unknown;
}

const OK_STATES = ["completed", "success", "succeeded", "ok"];

/**
 * MeshAI's public SDK wraps framework agents (LangChain, CrewAI, AutoGen, ...)
 * behind `POST /execute {task_id, task_type, payload, context, timeout_seconds}`
 * answering `{status, result, execution_time, agent_id}`, and `GET /health`.
 */
export function createMeshAiHttpAdapter(deps: AgentHttpDeps): AgentAdapter {
  return {
    protocol: "meshai_http",

    async *run(agent: AgentRecord, call: AgentCall): AsyncGenerator<AgentEvent> {
      const url = joinUrl(agent.endpoint, "execute");
      const timeoutSeconds = Math.max(1, Math.ceil(call.timeoutMs / 1000));
      yield { type: "progress", message: `sent to ${agent.name} over MeshAI HTTP` };
      let res: Response;
      try {
        res = await deps.streamingFetch(url, {
          method: "POST",
          headers: agentHeaders(agent, { "content-type": "application/json", accept: "application/json" }),
          body: JSON.stringify({
            task_id: call.taskId,
            task_type: call.capabilities[0] ?? agent.capabilities[0] ?? "general",
            payload: { task: call.task, input: call.task, capabilities: call.capabilities },
            context: call.context,
            timeout_seconds: timeoutSeconds,
          }),
          signal: call.signal,
        });
      } catch (e) {
        if (call.signal.aborted) throw e;
        throw networkFailure(agent, e, url);
      }
      if (!res.ok) throw await httpFailure(agent, res, "POST /execute");
      const answer = (await readJson(agent, res, "POST /execute")) as ExecuteAnswer;
      if (!answer || typeof answer !== "object" || typeof answer.status !== "string") {
        throw new Error(`POST /execute answered without a status field (expected {status, result, execution_time, agent_id}) [agent ${agent.id}]`);
      }
      if (!OK_STATES.includes(answer.status.toLowerCase())) {
        const why = textOf(answer.error ?? answer.result) || "no reason given";
        throw new Error(`the agent reported status ${answer.status}: ${why.slice(0, 500)} [agent ${agent.id}]`);
      }
      const text = textOf(answer.result);
      const data: Record<string, unknown> = {};
      if (answer.result && typeof answer.result === "object" && !Array.isArray(answer.result)) data.result = answer.result;
      if (typeof answer.execution_time === "number") data.execution_time = answer.execution_time;
      if (typeof answer.agent_id === "string") data.agent_id = answer.agent_id;
      yield { type: "output", text };
      yield { type: "result", text, data };
    },

    async health(agent: AgentRecord, signal: AbortSignal): Promise<HealthVerdict> {
      const url = joinUrl(agent.endpoint, "health");
      try {
        const res = await deps.fetch(url, { headers: agentHeaders(agent, { accept: "application/json" }), signal });
        if (!res.ok) {
          await res.body?.cancel();
          return { health: res.status >= 500 ? "unhealthy" : "degraded", detail: `GET /health answered ${res.status}` };
        }
        const body = (await readJson(agent, res, "GET /health").catch(() => ({}))) as { status?: string };
        const status = typeof body.status === "string" ? body.status.toLowerCase() : "healthy";
        if (["degraded", "busy"].includes(status)) return { health: "degraded", detail: `GET /health says ${status}` };
        if (["unhealthy", "down", "error"].includes(status)) return { health: "unhealthy", detail: `GET /health says ${status}` };
        return { health: "healthy", detail: `GET /health answered ${res.status}` };
      } catch (e) {
        return { health: "unhealthy", detail: networkFailure(agent, e, url).message };
      }
    },
  };
}

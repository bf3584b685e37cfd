import { Code, ConnectError } from "@connectrpc/connect";
import type { Knex } from "knex";
import type { TaskEvent } from "../../gen/meshai/v1/mesh_pb.js";
import type { Logger } from "../observability/logger.js";
import type { BreakerStateName, Metrics } from "../observability/metrics.js";
import { type Observability, quietObservability } from "../observability/observability.js";
import type { AccessTokens } from "./auth/access-tokens.js";
import { isTerminalEvent, taskStateName, type TaskEventBus } from "./mesh/events.js";

export type LoginFailure = "bad_credentials" | "throttled" | "disabled";

/**
 * What the core's domain reports about itself: each method writes the log
 * line and moves the metric for one domain event, so domain code never
 * touches pino or prom-client and never chooses what is safe to log. Only
 * ids, reasons and counts are passed in: never emails, passwords or tokens.
 */
export interface CoreTelemetry {
  logger: Logger;
  metrics: Metrics;
  loginFailed(reason: LoginFailure, who: { userId?: string; remoteIp?: string }): void;
  tokenIssued(grantType: string): void;
  tokenRefused(stage: "token_endpoint" | "verification", reason: string, detail?: Record<string, string | undefined>): void;
  agentCall(agent: { id: string; protocol: string }, ok: boolean, ms: number, error?: string): void;
  breakerChanged(agentId: string, from: BreakerStateName, to: BreakerStateName): void;
  agentHealth(agent: { id: string; health: string }, verdict: { health: string; detail: string }): void;
  taskEnded(event: TaskEvent): void;
}

/** Error texts from outside (agents, peers) are clipped: a log line is not a place for a whole response body. */
const clip = (text: string, max = 300) => (text.length > max ? `${text.slice(0, max)}...` : text);

/** Workflow ids are `wfl_...`, task ids `tsk_...` (src/core/ids.ts newId). */
const kindOf = (taskId: string) => (taskId.startsWith("wfl_") ? "workflow" : "task");

/** The core's telemetry over the process's logger (as `component: core`) and metrics. */
export function createCoreTelemetry(obs: Observability): CoreTelemetry {
  const logger = obs.logger.child({ component: "core" });
  const { metrics } = obs;
  return {
    logger,
    metrics,
    loginFailed(reason, who) {
      metrics.loginFailures.inc({ reason });
      logger.warn({ event: "login_failed", reason, user_id: who.userId, remote_ip: who.remoteIp }, "sign-in failed");
    },
    tokenIssued(grantType) {
      metrics.tokensIssued.inc({ grant_type: grantType || "unknown" });
      logger.debug({ event: "token_issued", grant_type: grantType }, "token issued");
    },
    tokenRefused(stage, reason, detail = {}) {
      metrics.tokensRefused.inc({ stage, reason });
      logger.info({ event: "token_refused", stage, reason, ...detail }, "token refused");
    },
    agentCall(agent, ok, ms, error) {
      const labels = { agent_id: agent.id, protocol: agent.protocol };
      metrics.agentCallDuration.observe({ ...labels, outcome: ok ? "ok" : "error" }, ms / 1000);
      if (ok) {
        logger.debug({ event: "agent_call", agent_id: agent.id, protocol: agent.protocol, duration_ms: ms }, "agent call succeeded");
        return;
      }
      metrics.agentCallErrors.inc(labels);
      logger.warn({ event: "agent_call_failed", agent_id: agent.id, protocol: agent.protocol, duration_ms: ms, error: clip(error ?? "") }, "agent call failed");
    },
    breakerChanged(agentId, from, to) {
      const line = { event: "circuit_breaker", agent_id: agentId, from, to };
      if (to === "open") logger.warn(line, `circuit opened for agent ${agentId}`);
      else logger.info(line, `circuit ${to === "closed" ? "closed" : "half-open"} for agent ${agentId}`);
    },
    agentHealth(agent, verdict) {
      const line = { event: "agent_health", agent_id: agent.id, from: agent.health, to: verdict.health, detail: clip(verdict.detail) };
      if (agent.health === verdict.health) logger.debug(line, "agent health checked");
      else if (verdict.health === "healthy") logger.info(line, `agent ${agent.id} is healthy`);
      else logger.warn(line, `agent ${agent.id} is ${verdict.health}`);
    },
    taskEnded(event) {
      const kind = kindOf(event.taskId);
      const outcome = taskStateName(event.state) || "unknown";
      metrics.taskCompletions.inc({ kind, outcome });
      if (outcome !== "failed") {
        logger.debug({ event: `${kind}_ended`, task_id: event.taskId, outcome, agent_id: event.agentId || undefined }, `${kind} ${outcome}`);
        return;
      }
      logger.warn(
        { event: `${kind}_failed`, task_id: event.taskId, agent_id: event.agentId || undefined, error: clip(event.message) },
        `${kind} failed`,
      );
    },
  };
}

/** Counts and logs nothing anyone sees: the CLI's platforms and unit tests. */
export function quietTelemetry(): CoreTelemetry {
  return createCoreTelemetry(quietObservability());
}

/**
 * Why the verifier refused a token, as a metric label. Keyed on the
 * verifier's messages (src/core/auth/access-tokens.ts); a test pins each.
 */
export function tokenRefusalReason(err: unknown): string {
  if (!(err instanceof ConnectError)) return "error";
  if (err.code === Code.PermissionDenied) return /scope|administrators/.test(err.rawMessage) ? "insufficient_scope" : "permission_denied";
  if (err.code !== Code.Unauthenticated) return "error";
  const m = err.rawMessage;
  if (/has expired/.test(m)) return "expired";
  if (/has been revoked/.test(m)) return "revoked";
  if (/ aud claim /.test(m)) return "wrong_audience";
  if (/ iss claim /.test(m)) return "wrong_issuer";
  if (/claim is not accepted/.test(m)) return "invalid_claims";
  if (/signature/.test(m)) return "bad_signature";
  if (/unknown or expired key|no key id/.test(m)) return "unknown_key";
  if (/not known to this server/.test(m)) return "unknown_token";
  if (/user is disabled|user no longer exists/.test(m)) return "user_disabled";
  if (/missing/.test(m)) return "missing";
  return "malformed";
}

/** The verifier, counting and logging each refusal with its reason; everything else passes through. */
export function observeVerifier(tokens: AccessTokens, telemetry: CoreTelemetry): AccessTokens {
  const verify: AccessTokens["verify"] = async (...args) => {
    try {
      return await tokens.verify(...args);
    } catch (e) {
      telemetry.tokenRefused("verification", tokenRefusalReason(e));
      throw e;
    }
  };
  return { ...tokens, verify };
}

/** The event bus, also reporting every task's and workflow's end (once, in the process that stored it). */
export function observeTaskEvents(bus: TaskEventBus, telemetry: CoreTelemetry): TaskEventBus {
  return {
    ...bus,
    publish(event) {
      bus.publish(event);
      if (isTerminalEvent(event)) telemetry.taskEnded(event);
    },
  };
}

/**
 * Feeds the scrape-time gauges from this core: tasks by kind and state (one
 * GROUP BY over the tasks table, cached by the metrics module) and each
 * agent's breaker state. Returns a function that unhooks both.
 */
export function bindCoreGauges(platform: {
  telemetry: CoreTelemetry;
  db: { knex: Knex };
  mesh: { breakers: { states(): Iterable<[string, BreakerStateName]> } };
}): () => void {
  const { metrics } = platform.telemetry;
  const unbindTasks = metrics.setTaskCounter(async () => {
    const rows = (await platform.db.knex("tasks").select("kind", "state").count({ n: "*" }).groupBy("kind", "state")) as Array<{
      kind: string;
      state: string;
      n: number | string;
    }>;
    return rows.map((r) => ({ kind: String(r.kind), state: String(r.state), count: Number(r.n) }));
  });
  const unbindBreakers = metrics.setBreakerStates(() => platform.mesh.breakers.states());
  return () => {
    unbindTasks();
    unbindBreakers();
  };
}

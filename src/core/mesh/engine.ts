import type { Config } from "../../config.js";
import type { AgentAdapter } from "../agents/adapter.js";
import { type AdapterDeps, createAdapters } from "../agents/index.js";
import type { Clock } from "../clock.js";
import { createAgentStatsRepository } from "../store/agent-stats.js";
import { createAgentRepository } from "../store/agents.js";
import { agentFromCard, resolveAgentCard } from "../agents/a2a.js";
import { createOutboundFetch } from "../net/outbound.js";
import type { Database } from "../store/db.js";
import { createTaskRepository } from "../store/tasks.js";
import { type CoreTelemetry, observeTaskEvents } from "../telemetry.js";
import { createAgentSnapshot } from "./agent-snapshot.js";
import { type BREAKER_DEFAULTS, createBreakers } from "./breaker.js";
import { createTaskEventBus } from "./events.js";
import { createExecutor, type ExecutorOptions } from "./executor.js";
import { createHealthChecks } from "./health-checks.js";
import { inferCapabilities } from "./infer.js";
import { createRouter } from "./router.js";
import type { WorkflowLimits } from "./workflows/definition.js";
import { createWorkflowRunner, type WorkflowRunnerOptions } from "./workflows/runner.js";
import { createWorkflowStore } from "./workflows/store.js";
import { BUILTIN_TEMPLATES, createTemplateStore } from "./workflows/templates.js";

export type MeshConfig = Pick<Config, "allowPrivateNetwork" | "healthCheckIntervalSeconds" | "taskTimeoutSeconds" | "maxTaskTimeoutSeconds"> &
  Partial<Pick<Config, "workflowMaxSteps" | "workflowMaxFanOut" | "workflowTimeoutSeconds">>;

export interface MeshEngineOptions {
  docs?: AdapterDeps["docs"];
  /** Replace adapters (tests); by default createAdapters(). */
  adapters?: Map<string, AgentAdapter>;
  executor?: Partial<ExecutorOptions>;
  breaker?: Partial<typeof BREAKER_DEFAULTS>;
  workflows?: Partial<WorkflowRunnerOptions>;
  /** Agent calls, breaker transitions and task ends are reported here. */
  telemetry?: CoreTelemetry;
}

/**
 * The mesh's execution side, wired once over the database: adapters, breakers,
 * router, executor, event bus and background health checks. start() fails
 * tasks a dead process left behind and starts the background loops; close()
 * stops them and ends running tasks with a reason.
 */
export function createMeshEngine(config: MeshConfig, db: Database, clock: Clock, options: MeshEngineOptions = {}) {
  const agents = createAgentRepository(db.knex);
  const agentStats = createAgentStatsRepository(db.knex);
  const tasks = createTaskRepository(db.knex);
  const adapters = options.adapters ?? createAdapters({ allowPrivateNetwork: config.allowPrivateNetwork, docs: options.docs });
  const telemetry = options.telemetry;
  const breakers = createBreakers({ ...options.breaker, onChange: telemetry?.breakerChanged });
  const bus = telemetry ? observeTaskEvents(createTaskEventBus(), telemetry) : createTaskEventBus();
  const router = createRouter();
  const executor = createExecutor({
    tasks,
    agentStats,
    snapshot: createAgentSnapshot(db.knex, agents),
    adapters,
    breakers,
    router,
    bus,
    clock,
    inferCapabilities,
    telemetry,
    options: { defaultTimeoutMs: config.taskTimeoutSeconds * 1000, ...options.executor },
  });
  const healthChecks = createHealthChecks({ agents, agentStats, adapters, clock, intervalSeconds: config.healthCheckIntervalSeconds, onVerdict: telemetry?.agentHealth });
  const workflowLimits: WorkflowLimits = {
    maxSteps: config.workflowMaxSteps ?? 100,
    maxFanOut: config.workflowMaxFanOut ?? 50,
    maxRunSeconds: config.workflowTimeoutSeconds ?? 3600,
    maxStepTimeoutSeconds: config.maxTaskTimeoutSeconds,
  };
  const workflows = createWorkflowRunner({
    tasks,
    store: createWorkflowStore(db.knex),
    executor,
    bus,
    clock,
    limits: workflowLimits,
    options: { defaultStepTimeoutSeconds: config.taskTimeoutSeconds, takeOverAtStart: db.dialect === "sqlite", ...options.workflows },
  });
  const templates = createTemplateStore(db.knex);
  const cardFetch = createOutboundFetch({ allowPrivateNetwork: config.allowPrivateNetwork, timeoutMs: 10_000 });
  let started = false;
  return {
    tasks,
    adapters,
    breakers,
    bus,
    router,
    executor,
    healthChecks,
    workflows,
    workflowLimits,
    templates,
    clock,
    maxTaskTimeoutSeconds: config.maxTaskTimeoutSeconds,
    /** Reads an A2A agent card (1.0 or 0.3) for RegisterAgent's card_url: name, description, skills. */
    async importCard(cardUrl: string) {
      const card = await resolveAgentCard([cardUrl], cardFetch as typeof fetch);
      return agentFromCard(card, cardUrl);
    },
    async start(): Promise<void> {
      if (started) return;
      started = true;
      await executor.start();
      for (const t of BUILTIN_TEMPLATES) await templates.ensure(t, clock.now());
      await workflows.start();
      healthChecks.start();
    },
    async close(): Promise<void> {
      await healthChecks.stop();
      // Workflows first: they are left resumable, not failed by their steps' interrupted tasks.
      await workflows.close();
      await executor.close();
    },
  };
}

export type MeshEngine = ReturnType<typeof createMeshEngine>;

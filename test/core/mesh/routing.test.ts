import { describe, expect, it } from "vitest";
import { RoutingStrategy } from "../../../gen/meshai/v1/mesh_pb.js";
import { createBreakers } from "../../../src/core/mesh/breaker.js";
import { createRouter, type LiveView, NoRouteError } from "../../../src/core/mesh/router.js";
import type { AgentRecord } from "../../../src/core/store/agents.js";

function agent(id: string, over: Partial<AgentRecord> = {}): AgentRecord {
  return {
    id,
    name: id,
    description: "",
    framework: "langchain",
    capabilities: ["text_generation"],
    protocol: "openai",
    endpoint: "http://127.0.0.1:9/v1",
    tags: [],
    maxConcurrentTasks: 4,
    health: "healthy",
    healthDetail: "",
    lastHealthCheckAt: null,
    config: {},
    credentials: null,
    enabled: true,
    avgLatencyMs: 100,
    successCount: 10,
    failureCount: 0,
    createdAt: 0,
    updatedAt: 0,
    ...over,
  };
}

const idle: LiveView = { load: () => 0, circuitOpen: () => false };
const req = (over: Partial<Parameters<ReturnType<typeof createRouter>["route"]>[0]> = {}) => ({
  capabilities: ["text_generation"],
  capabilitiesInferred: false,
  agents: [],
  framework: "",
  ...over,
});

describe("candidates: every required capability, framework, minus unhealthy, open circuits and full agents", () => {
  it("passes over unhealthy, open-circuit and at-limit agents, noting why as runners-up", () => {
    const agents = [agent("sick", { health: "unhealthy", healthDetail: "GET /health answered 500" }), agent("broken"), agent("busy", { maxConcurrentTasks: 1 }), agent("fine"), agent("other", { capabilities: ["data_analysis"] })];
    const live: LiveView = { load: (id) => (id === "busy" ? 1 : 0), circuitOpen: (id) => id === "broken" };
    const { ranked, decision } = createRouter().route(req(), agents, live);
    expect(ranked.map((r) => r.agent.id)).toEqual(["fine"]);
    const notes = Object.fromEntries(decision.runnersUp.map((c) => [c.agentId, c.note]));
    expect(notes.sick).toContain("unhealthy");
    expect(notes.broken).toContain("circuit open");
    expect(notes.busy).toContain("concurrency limit (1/1)");
  });

  it("requires every capability and applies the framework filter", () => {
    const agents = [agent("a", { capabilities: ["text_generation", "reasoning"], framework: "crewai" }), agent("b", { capabilities: ["text_generation", "reasoning"] }), agent("c")];
    const { ranked } = createRouter().route(req({ capabilities: ["text_generation", "reasoning"], framework: "CrewAI" }), agents, idle);
    expect(ranked.map((r) => r.agent.id)).toEqual(["a"]);
  });

  it("names the missing capability and how to register an agent", () => {
    expect(() => createRouter().route(req({ capabilities: ["image_generation"] }), [agent("a")], idle)).toThrow(NoRouteError);
    expect(() => createRouter().route(req({ capabilities: ["image_generation"] }), [agent("a")], idle)).toThrow(/"image_generation".*RegisterAgent.*meshai agent add/s);
  });

  it("keeps the request's order for explicit agents and rejects unknown ids", () => {
    const agents = [agent("x"), agent("y"), agent("z")];
    const { ranked } = createRouter().route(req({ agents: ["z", "x"], capabilities: [] }), agents, idle);
    expect(ranked.map((r) => r.agent.id)).toEqual(["z", "x"]);
    expect(() => createRouter().route(req({ agents: ["nope"], capabilities: [] }), agents, idle)).toThrow(/unknown agent id nope/);
  });
});

describe("strategies rank the candidates", () => {
  const agents = [
    agent("generalist", { capabilities: ["text_generation", "code_generation", "reasoning", "data_analysis"], avgLatencyMs: 50 }),
    agent("specialist", { capabilities: ["text_generation"], avgLatencyMs: 2000, successCount: 6, failureCount: 4 }),
  ];

  it("capability_match (the default) prefers the most specific agent", () => {
    const { decision } = createRouter().route(req(), agents, idle);
    expect(decision.agentId).toBe("specialist");
    expect(decision.strategy).toBe(RoutingStrategy.CAPABILITY_MATCH);
    expect(decision.runnersUp[0]?.agentId).toBe("generalist");
    expect(decision.reasons.join(" ")).toContain("best capability match");
  });

  it("performance_based prefers low latency and high success rate", () => {
    expect(createRouter().route(req({ strategy: "performance_based" }), agents, idle).decision.agentId).toBe("generalist");
  });

  it("least_loaded prefers the agent with the most free capacity", () => {
    const live: LiveView = { load: (id) => (id === "generalist" ? 3 : 1), circuitOpen: () => false };
    expect(createRouter().route(req({ strategy: "least_loaded" }), agents, live).decision.agentId).toBe("specialist");
  });

  it("round_robin rotates through the candidates", () => {
    const router = createRouter();
    const picks = [0, 1, 2, 3].map(() => router.route(req({ strategy: "round_robin" }), agents, idle).decision.agentId);
    expect(picks).toEqual(["generalist", "specialist", "generalist", "specialist"]);
  });
});

describe("circuit breaker: opens after 5 consecutive failures, half-opens after the delay, closes after 3 successes", () => {
  const fail = () => Promise.reject(new Error("agent down"));
  const ok = () => Promise.resolve("ok");

  it("opens after the fifth consecutive failure and refuses calls while open", async () => {
    const b = createBreakers({ halfOpenAfterMs: 60_000 });
    for (let i = 0; i < 4; i++) await expect(b.execute("a", fail)).rejects.toThrow("agent down");
    expect(b.state("a")).toBe("closed");
    await expect(b.execute("a", fail)).rejects.toThrow("agent down");
    expect(b.state("a")).toBe("open");
    await expect(b.execute("a", ok)).rejects.toThrow(/open/i);
    expect(b.state("b")).toBe("closed");
  });

  it("a success resets the count of consecutive failures", async () => {
    const b = createBreakers();
    for (let i = 0; i < 4; i++) await expect(b.execute("a", fail)).rejects.toThrow();
    await b.execute("a", ok);
    for (let i = 0; i < 4; i++) await expect(b.execute("a", fail)).rejects.toThrow();
    expect(b.state("a")).toBe("closed");
  });

  it("after half-opening, needs 3 successes to close; a failure in between opens it again", async () => {
    const b = createBreakers({ halfOpenAfterMs: 30 });
    for (let i = 0; i < 5; i++) await expect(b.execute("a", fail)).rejects.toThrow();
    await new Promise((r) => setTimeout(r, 40));
    expect(b.state("a")).toBe("half_open");
    await b.execute("a", ok);
    await b.execute("a", ok);
    expect(b.state("a")).toBe("half_open");
    await expect(b.execute("a", fail)).rejects.toThrow();
    expect(b.state("a")).toBe("open");
    await new Promise((r) => setTimeout(r, 40));
    for (let i = 0; i < 3; i++) await b.execute("a", ok);
    expect(b.state("a")).toBe("closed");
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AgentCall, AgentEvent } from "../../../src/core/agents/adapter.js";
import { createAdapters } from "../../../src/core/agents/index.js";
import type { AgentRecord } from "../../../src/core/store/agents.js";
import { type Peer, startLangGraph, startLangServe, startSlowOpenAi } from "./peers.js";

const adapters = createAdapters({ allowPrivateNetwork: true });

function agent(protocol: string, endpoint: string, config: Record<string, unknown> = {}): AgentRecord {
  return { id: `t-${protocol}`, name: protocol, description: "", framework: "langchain", capabilities: ["text_generation"], protocol, endpoint, tags: [], maxConcurrentTasks: 4, health: "unknown", healthDetail: "", lastHealthCheckAt: null, config, credentials: null, enabled: true, avgLatencyMs: 0, successCount: 0, failureCount: 0, createdAt: 0, updatedAt: 0 };
}

function call(task: string, signal = new AbortController().signal): AgentCall {
  return { taskId: "tsk_test", task, capabilities: ["text_generation"], context: {}, timeoutMs: 10_000, signal };
}

async function collect(a: AgentRecord, c: AgentCall): Promise<AgentEvent[]> {
  const out: AgentEvent[] = [];
  for await (const e of adapters.get(a.protocol)!.run(a, c)) out.push(e);
  return out;
}

const outputs = (events: AgentEvent[]) => events.filter((e) => e.type === "output").map((e) => (e as { text: string }).text);

let langserve: Awaited<ReturnType<typeof startLangServe>>;
let langgraph: Awaited<ReturnType<typeof startLangGraph>>;
let slow: Awaited<ReturnType<typeof startSlowOpenAi>>;
const peers: Peer[] = [];

beforeAll(async () => {
  [langserve, langgraph, slow] = await Promise.all([startLangServe(), startLangGraph(), startSlowOpenAi()]);
  peers.push(langserve, langgraph, slow);
});
afterAll(() => Promise.all(peers.map((p) => p.close())));

describe("langserve: /stream data events become output, /invoke answers whole", () => {
  it("streams chunks and ends at the end event", async () => {
    const events = await collect(agent("langserve", `${langserve.url}/chain`), call("hello"));
    expect(outputs(events)).toEqual(["Lang", "Serve ", "says ", "hi"]);
    expect(events.at(-1)).toEqual({ type: "result", text: "LangServe says hi" });
    expect(langserve.inputs.at(-1)).toBe("hello");
  });

  it("wraps the input under config.input_key and uses /invoke when config.stream is false", async () => {
    const events = await collect(agent("langserve", `${langserve.url}/chain`, { stream: false, input_key: "question" }), call("why?"));
    expect(events.at(-1)).toEqual({ type: "result", text: 'invoked: {"question":"why?"}' });
  });

  it("fails with the runnable's error event message", async () => {
    await expect(collect(agent("langserve", `${langserve.url}/broken`), call("x"))).rejects.toThrow(/chain blew up/);
  });

  it("is healthy when /input_schema answers", async () => {
    expect((await adapters.get("langserve")!.health(agent("langserve", `${langserve.url}/chain`), AbortSignal.timeout(5000))).health).toBe("healthy");
  });
});

describe("langgraph: /runs/stream message chunks become output, the final values give the answer", () => {
  it("streams a stateless run of the configured assistant", async () => {
    const events = await collect(agent("langgraph", langgraph.url, { assistant_id: "researcher" }), call("question"));
    expect(outputs(events)).toEqual(["graph ", "answer"]);
    expect(events.at(-1)).toEqual({ type: "result", text: "graph answer" });
    expect(langgraph.bodies.at(-1)).toMatchObject({ assistant_id: "researcher", input: { messages: [{ role: "user", content: "question" }] }, stream_mode: ["messages-tuple", "values"] });
  });

  it("waits for /runs/wait when config.stream is false", async () => {
    const events = await collect(agent("langgraph", langgraph.url, { stream: false }), call("q2"));
    expect(events.find((e) => e.type === "result")).toMatchObject({ text: "graph answer to q2" });
  });

  it("is healthy when /ok answers", async () => {
    expect((await adapters.get("langgraph")!.health(agent("langgraph", langgraph.url), AbortSignal.timeout(5000))).health).toBe("healthy");
  });
});

describe("aborting a call closes the agent's HTTP stream", () => {
  it("drops the OpenAI-compatible SSE connection when the signal aborts", async () => {
    const ctl = new AbortController();
    const a = agent("openai", `${slow.url}/v1`);
    const seen: AgentEvent[] = [];
    await expect(
      (async () => {
        for await (const e of adapters.get("openai")!.run(a, call("x", ctl.signal))) {
          seen.push(e);
          ctl.abort();
        }
      })(),
    ).rejects.toThrow();
    expect(outputs(seen)[0]).toBe("slow ");
    while (slow.closed === 0) await new Promise((r) => setTimeout(r, 20));
  });
});

describe("outbound calls are guarded", () => {
  it("refuses a loopback agent unless private networks are allowed", async () => {
    const guarded = createAdapters({ allowPrivateNetwork: false });
    const a = agent("langgraph", langgraph.url);
    await expect((async () => {
      for await (const _ of guarded.get("langgraph")!.run(a, call("x"))) { /* none */ }
    })()).rejects.toThrow(/private or reserved/);
  });
});

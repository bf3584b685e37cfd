import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient, type Interceptor } from "@connectrpc/connect";
import { Health, HealthCheckResponse_ServingStatus } from "../../../gen/grpc/health/v1/health_pb.js";
import { AgentProtocol, TaskEventType, TaskState } from "../../../gen/meshai/v1/mesh_pb.js";
import { loadConfig } from "../../../src/config.js";
import { type CoreClients, createCoreClients, createInProcessTransport } from "../../../src/facade/core-client.js";
import { runWithRequestId } from "../../../src/facade/request-id.js";
import { createDirectTransport } from "../../../src/facade/in-process-transport.js";
import { type RunningFacade, startFacade } from "../../../src/facade/server.js";
import { type TestCore, startTestCore, testEnv } from "../../support/core.js";
import { rawPost, rawSession } from "./harness.js";
import { type SlowAgent, startSlowAgent } from "./slow-agent.js";

/**
 * One-process mode (`meshai serve`, role "all"): the facade's Connect clients
 * reach the core's handlers through `createInProcessTransport`, and the core's
 * own interceptors (request observer, auth) still decide every call.
 */
let t: TestCore;
let core: CoreClients;
let facade: RunningFacade;
let slow: SlowAgent;
let admin: string;

beforeAll(async () => {
  slow = await startSlowAgent();
  t = await startTestCore({ MESHAI_ALLOW_PRIVATE_NETWORK: "true", MESHAI_HEALTH_CHECK_INTERVAL: "0" });
  // A core URL nobody listens on: every call below must go in-process to succeed.
  core = createCoreClients({ coreUrl: "http://127.0.0.1:9" }, { transport: createInProcessTransport(t.core.handlerOptions) });
  facade = await startFacade(loadConfig(testEnv({ MESHAI_CORE_URL: "http://127.0.0.1:9", MESHAI_ISSUER: t.config.issuer })), core, { graceMs: 200 });
  admin = await t.token("mcp:read mcp:execute mcp:manage", "admin@example.com");
  await core.mesh.registerAgent(
    { agent: { id: "slow-agent", name: "Slow Agent", protocol: AgentProtocol.MESHAI_HTTP, endpoint: slow.url, capabilities: ["slow_work"] } },
    { headers: { authorization: `Bearer ${admin}` } },
  );
});
afterAll(async () => {
  await facade?.close();
  await t?.close();
  await slow?.close();
});

const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

async function refusal(call: Promise<unknown>): Promise<ConnectError> {
  const e = await call.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ConnectError);
  return e as ConnectError;
}

describe("the facade reaches the core in-process, without its port", () => {
  it("an MCP tools/call list_agents is answered by the core with no socket to it", async () => {
    const session = await rawSession(`${facade.url}/v1/mcp`, admin);
    const res = await rawPost(
      `${facade.url}/v1/mcp`,
      { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "list_agents", arguments: {} } },
      { authorization: `Bearer ${admin}`, "mcp-session-id": session, "mcp-protocol-version": "2025-11-25" },
    );
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("slow-agent");
  });

  it("the facade's readiness probe gets the core's health over the in-process link", async () => {
    const res = await fetch(`${facade.url}/readyz`);
    expect(res.status).toBe(200);
  });
});

describe("the core's auth interceptor still decides every in-process call", () => {
  it("a call without a token is refused UNAUTHENTICATED", async () => {
    expect((await refusal(core.mesh.listAgents({}))).code).toBe(Code.Unauthenticated);
  });

  it("a forged token is refused UNAUTHENTICATED, and the MCP endpoint answers 401 with its challenge", async () => {
    const forged = `${admin.slice(0, -4)}AAAA`;
    expect((await refusal(core.mesh.listAgents({}, bearer(forged)))).code).toBe(Code.Unauthenticated);
    const res = await rawPost(`${facade.url}/v1/mcp`, { jsonrpc: "2.0", id: 1, method: "ping" }, { authorization: `Bearer ${forged}` });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer /);
  });

  it("a token without the RPC's scope is refused PERMISSION_DENIED", async () => {
    const reader = await t.token("mcp:read", "reader@example.com");
    const e = await refusal(core.mesh.deleteAgent({ id: "slow-agent" }, bearer(reader)));
    expect(e.code).toBe(Code.PermissionDenied);
  });

  it("an OAuth refusal keeps its oauth-error metadata across the in-process link", async () => {
    const e = await refusal(core.auth.token({ grantType: "password" }));
    expect(e.code).toBe(Code.InvalidArgument);
    expect(e.metadata.get("oauth-error")).toBe("unsupported_grant_type");
  });
});

describe("request ids flow from the facade's request into the core in-process", () => {
  it("the core's observer takes the caller's request id and echoes it", async () => {
    let echoed: string | null = null;
    await runWithRequestId("req-in-process-1", () =>
      core.mesh.listAgents({}, { ...bearer(admin), onHeader: (h) => (echoed = h.get("x-request-id")) }),
    );
    expect(echoed).toBe("req-in-process-1");
  });
});

describe("streams, cancellation and deadlines behave as over the network", () => {
  it("ExecuteTask streams the task's events to the end", async () => {
    slow.release("done in process");
    const types: TaskEventType[] = [];
    let output = "";
    for await (const r of core.mesh.executeTask({ task: "quick job", capabilities: ["slow_work"] }, bearer(admin))) {
      types.push(r.event!.type);
      if (r.event!.type === TaskEventType.COMPLETED) output = r.event!.output;
    }
    expect(types[0]).toBe(TaskEventType.ACCEPTED);
    expect(types.at(-1)).toBe(TaskEventType.COMPLETED);
    expect(output).toBe("done in process");
  });

  it("aborting an attached ExecuteTask stream cancels the task and abandons the agent's call", async () => {
    slow.hold();
    const n = slow.received.length + 1;
    const ac = new AbortController();
    const stream = core.mesh.executeTask({ task: "slow job", capabilities: ["slow_work"] }, { ...bearer(admin), signal: ac.signal });
    const drained = (async () => {
      for await (const _ of stream) void _;
    })();
    const taskId = await slow.arrived(n);
    ac.abort();
    expect((await refusal(drained)).code).toBe(Code.Canceled);
    await slow.abandonedCall(taskId);
    let state = TaskState.UNSPECIFIED;
    for (let i = 0; i < 100 && state !== TaskState.CANCELLED; i++) {
      state = (await core.mesh.getTask({ id: taskId }, bearer(admin))).task!.state;
      if (state !== TaskState.CANCELLED) await new Promise((r) => setTimeout(r, 20));
    }
    expect(state).toBe(TaskState.CANCELLED);
  });

  it("WatchTask follows a detached task until it ends", async () => {
    slow.hold();
    const n = slow.received.length + 1;
    const first = core.mesh.executeTask({ task: "detached job", capabilities: ["slow_work"], detached: true }, bearer(admin));
    let taskId = "";
    for await (const r of first) {
      taskId = r.event!.taskId;
      break;
    }
    await slow.arrived(n);
    const seen: TaskEventType[] = [];
    const watching = (async () => {
      for await (const r of core.mesh.watchTask({ id: taskId }, bearer(admin))) seen.push(r.event!.type);
    })();
    slow.release("watched");
    await watching;
    expect(seen.at(-1)).toBe(TaskEventType.COMPLETED);
  });

  it("a deadline shorter than the work ends the call DEADLINE_EXCEEDED", async () => {
    slow.hold();
    const stream = core.mesh.executeTask({ task: "too slow", capabilities: ["slow_work"] }, { ...bearer(admin), timeoutMs: 300 });
    const e = await refusal(
      (async () => {
        for await (const _ of stream) void _;
      })(),
    );
    expect(e.code).toBe(Code.DeadlineExceeded);
    slow.release("late");
  });
});

describe("the in-process transport answers as a network server would", () => {
  const seen: string[] = [];
  const tag =
    (name: string): Interceptor =>
    (next) =>
    (req) => {
      seen.push(name);
      return next(req);
    };
  const served = { status: HealthCheckResponse_ServingStatus.SERVING };
  const transport = createDirectTransport(
    {
      interceptors: [tag("router")],
      routes: (router) => {
        router.service(Health, {
          check(req) {
            if (req.service === "boom") throw new Error("secret internals");
            return served;
          },
        }, { interceptors: [tag("service")] });
      },
    },
    [],
  );
  const health = createClient(Health, transport);

  it("an error that is not a ConnectError reaches the caller as INTERNAL 'internal error', nothing more", async () => {
    const e = await refusal(health.check({ service: "boom" }));
    expect(e.code).toBe(Code.Internal);
    expect(e.rawMessage).toBe("internal error");
  });

  it("a method the routes did not implement is UNIMPLEMENTED", async () => {
    expect((await refusal(health.list({}))).code).toBe(Code.Unimplemented);
  });

  it("a service's own interceptors replace the router's, as on connect's router; responses are copies", async () => {
    seen.length = 0;
    const res = await health.check({ service: "" });
    expect(seen).toEqual(["service"]);
    expect(res.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    res.status = HealthCheckResponse_ServingStatus.NOT_SERVING;
    expect(served.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
  });
});

describe("a unary call's server-side signal behaves as connect's own handlers make it", () => {
  let held: { signal: AbortSignal; release: () => void } | undefined;
  let lastSignal: AbortSignal | undefined;
  let lastTimeout: number | undefined | "unset" = "unset";
  const transport = createDirectTransport(
    {
      routes: (router) => {
        router.service(Health, {
          async check(req, ctx) {
            lastSignal = ctx.signal;
            lastTimeout = ctx.timeoutMs();
            if (req.service === "hold") {
              // Waits until the caller gives up (or the test releases it).
              await new Promise<void>((resolve) => {
                held = { signal: ctx.signal, release: resolve };
                ctx.signal.addEventListener("abort", () => resolve(), { once: true });
              });
              if (ctx.signal.aborted) throw new ConnectError("given up", Code.Canceled);
            }
            return { status: HealthCheckResponse_ServingStatus.SERVING };
          },
        });
      },
    },
    [],
  );
  const health = createClient(Health, transport);

  it("the caller aborting reaches the implementation's signal, and the caller gets CANCELED", async () => {
    const ac = new AbortController();
    const call = health.check({ service: "hold" }, { signal: ac.signal });
    await expect.poll(() => held).toBeDefined();
    ac.abort();
    expect((await refusal(call)).code).toBe(Code.Canceled);
    expect(held!.signal.aborted).toBe(true);
    held = undefined;
  });

  it("the signal is aborted once the call has answered; a call without a deadline has no time limit", async () => {
    await health.check({ service: "" }, { signal: new AbortController().signal });
    expect(lastSignal!.aborted).toBe(true);
    expect(lastTimeout).toBeUndefined();
  });

  it("a deadline ends a call whose implementation waits on its signal DEADLINE_EXCEEDED", async () => {
    const e = await refusal(health.check({ service: "hold" }, { timeoutMs: 100 }));
    expect(e.code).toBe(Code.DeadlineExceeded);
    held = undefined;
  });
});

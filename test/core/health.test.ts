// grpc.health.v1.Health against a real h2c server, asked by a grpc-js client
// (the same stack grpc-health-probe and Kubernetes gRPC probes use).
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { MeshService } from "../../gen/meshai/v1/mesh_pb.js";
import { createHealthService } from "../../src/core/health.js";
import type { HealthService } from "../../src/core/health.js";
import { registerReflection } from "../../src/core/reflection.js";
import { reader, serve } from "../support/connect-server.js";


const PROTO_DIR = new URL("../../proto/", import.meta.url).pathname;
const SERVICES = ["meshai.v1.AuthService", "meshai.v1.MeshService"];


type StatusReply = { status: string }; // enums as names: "SERVING", ...

/** A grpc-js Health client; check() resolves to the status name or rejects with a ServiceError. */
function healthClient(port: number) {
  const def = protoLoader.loadSync("grpc/health/v1/health.proto", { includeDirs: [PROTO_DIR], enums: String });
  const name = "grpc.health.v1.Health";
  const Ctor = grpc.makeClientConstructor(def[name] as grpc.ServiceDefinition, name);
  const client = new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const check = (service: string) =>
    new Promise<string>((resolve, reject) =>
      client["Check"]!({ service }, (err: grpc.ServiceError | null, res: StatusReply) =>
        err ? reject(err) : resolve(res.status),
      ),
    );
  const watch = (service: string) => {
    const call = client["Watch"]!({ service }) as grpc.ClientReadableStream<StatusReply>;
    const replies = reader<StatusReply>(call);
    return {
      next: async () => (await replies.next()).status,
      /** Cancels, then waits for grpc-js to report CANCELLED (the call really ended). */
      cancel: async () => {
        call.cancel();
        await replies.next().then(
          () => expect.unreachable("no message after cancel"),
          (e: grpc.ServiceError) => expect(e.code).toBe(grpc.status.CANCELLED),
        );
      },
    };
  };
  const list = () =>
    new Promise<Record<string, StatusReply>>((resolve, reject) =>
      client["List"]!({}, (err: grpc.ServiceError | null, res: { statuses: Record<string, StatusReply> }) =>
        err ? reject(err) : resolve(res.statuses),
      ),
    );
  return { check, watch, list, close: () => client.close() };
}

/** A server whose probe answers whatever `state.probe` says. */
async function start() {
  const state: { probe: boolean | "throw" } = { probe: true };
  const health = createHealthService(
    async () => {
      if (state.probe === "throw") throw new Error("store unreachable");
      return state.probe;
    },
    { services: SERVICES },
  );
  const server = await serve((router) => {
    router.service(MeshService, {});
    router.service(Health, health.impl);
    registerReflection(router, [MeshService]);
  });
  const client = healthClient(server.port);
  return {
    state,
    health,
    client,
    close: async () => {
      client.close();
      await server.close();
    },
  };
}

let env: Awaited<ReturnType<typeof start>>;
beforeAll(async () => {
  env = await start();
});
afterAll(async () => {
  await env?.close();
});
beforeEach(() => {
  env.state.probe = true;
});

describe("Check", () => {
  it("reports SERVING for the server and each named service when the probe says true", async () => {
    for (const service of ["", ...SERVICES]) expect(await env.client.check(service)).toBe("SERVING");
  });

  it("reports NOT_SERVING when the probe says false", async () => {
    env.state.probe = false;
    expect(await env.client.check("")).toBe("NOT_SERVING");
    expect(await env.client.check("meshai.v1.MeshService")).toBe("NOT_SERVING");
  });

  it("reports NOT_SERVING, not an RPC error, when the probe throws", async () => {
    env.state.probe = "throw";
    expect(await env.client.check("")).toBe("NOT_SERVING");
  });

  it("fails with NOT_FOUND for a service it does not know", async () => {
    await expect(env.client.check("meshai.v1.NoSuchService")).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });
});

describe("Watch", () => {
  it("sends the current status at once, then a message on each change", async () => {
    const watch = env.client.watch("meshai.v1.MeshService");
    expect(await watch.next()).toBe("SERVING");
    env.state.probe = false;
    await env.health.refresh(); // what the poll timer does; called here so no test waits on time
    expect(await watch.next()).toBe("NOT_SERVING");
    env.state.probe = true;
    await env.health.refresh();
    expect(await watch.next()).toBe("SERVING");
    await watch.cancel();
  });

  it("sends SERVICE_UNKNOWN for an unknown service and keeps the call open", async () => {
    const watch = env.client.watch("meshai.v1.NoSuchService");
    expect(await watch.next()).toBe("SERVICE_UNKNOWN");
    // Still open: the only way it ends is our cancel, reported as CANCELLED.
    await watch.cancel();
  });
});

describe("List", () => {
  it("lists the server and every named service with the probe's status", async () => {
    expect(await env.client.list()).toEqual({
      "": { status: "SERVING" },
      "meshai.v1.AuthService": { status: "SERVING" },
      "meshai.v1.MeshService": { status: "SERVING" },
    });
  });
});

describe("shutdown", () => {
  it("marks everything NOT_SERVING for good and tells open watchers", async () => {
    const own = await start(); // shutdown is permanent: use a server of its own
    try {
      const watch = own.client.watch("");
      expect(await watch.next()).toBe("SERVING");
      own.health.shutdown();
      expect(await watch.next()).toBe("NOT_SERVING");
      // The probe still says true, but a draining server stays NOT_SERVING.
      expect(await own.client.check("")).toBe("NOT_SERVING");
      expect(await own.client.check("meshai.v1.AuthService")).toBe("NOT_SERVING");
      await watch.cancel();
    } finally {
      await own.close();
    }
  });
});

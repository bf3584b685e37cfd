import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { describe, expect, it } from "vitest";
import { createCoreClients } from "../../src/facade/core-client.js";
import { runWithRequestId } from "../../src/facade/request-id.js";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";

describe("createCoreClients over a real h2c socket", () => {
  it("speaks gRPC to the core and stamps the current request id", async () => {
    const seen: Array<string | null> = [];
    const server = http2.createServer(
      connectNodeAdapter({
        routes: ({ service }) =>
          service(Health, {
            check(_req, ctx) {
              seen.push(ctx.requestHeader.get("x-request-id"));
              seen.push(ctx.requestHeader.get("content-type"));
              return { status: ServingStatus.SERVING };
            },
          }),
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    const core = createCoreClients({ coreUrl: `http://127.0.0.1:${port}` });
    try {
      const res = await runWithRequestId("req-7", () => core.health.check({ service: "" }));
      expect(res.status).toBe(ServingStatus.SERVING);
      expect(seen).toEqual(["req-7", "application/grpc+proto"]);
    } finally {
      core.close();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

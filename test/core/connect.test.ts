import http2 from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ServerReflectionRequestSchema } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { AuthService } from "../../gen/meshai/v1/auth_pb.js";
import { AgentProtocol, MeshService } from "../../gen/meshai/v1/mesh_pb.js";
import { type TestCore, startTestCore } from "../support/core.js";

let t: TestCore;
let manage: string;

beforeAll(async () => {
  t = await startTestCore();
  manage = await t.token("mcp:read mcp:manage");
});
afterAll(() => t.close());

const auth = (token: string) => ({ authorization: `Bearer ${token}` });

describe("one core port speaks gRPC, gRPC-Web and Connect", () => {
  const transports = {
    "gRPC over HTTP/2": () => createGrpcTransport({ baseUrl: t.core.url }),
    "gRPC-Web over HTTP/1.1": () => createGrpcWebTransport({ baseUrl: t.core.url, httpVersion: "1.1" }),
    "Connect over HTTP/1.1": () => createConnectTransport({ baseUrl: t.core.url, httpVersion: "1.1" }),
    "Connect over HTTP/2": () => createConnectTransport({ baseUrl: t.core.url, httpVersion: "2" }),
  };
  for (const [name, transport] of Object.entries(transports)) {
    it(`registers and lists an agent with ${name}`, async () => {
      const mesh = createClient(MeshService, transport());
      const id = `via-${name.replace(/\W+/g, "-").toLowerCase()}`;
      await mesh.registerAgent(
        { agent: { id, name, capabilities: ["reasoning"], protocol: AgentProtocol.A2A, endpoint: "http://127.0.0.1:9/" } },
        { headers: auth(manage) },
      );
      const res = await mesh.listAgents({ capabilities: ["reasoning"] }, { headers: auth(manage) });
      expect(res.agents.map((a) => a.id)).toContain(id);
      await expect(mesh.listAgents({})).rejects.toMatchObject({ code: Code.Unauthenticated });
    });
  }
});

describe("users through a Connect client", () => {
  it("creates, updates, disables and re-enables a user", async () => {
    const client = createClient(AuthService, createGrpcTransport({ baseUrl: t.core.url }));
    const headers = auth(manage);
    const { user } = await client.createUser({ email: "conn@example.com", name: "Conn", password: "password-123" }, { headers });
    expect(user?.id).toMatch(/^usr_/);
    const updated = await client.updateUser({ user: "conn@example.com", name: "Connie", admin: true }, { headers });
    expect(updated.user).toMatchObject({ name: "Connie", admin: true, disabled: false });
    const disabled = await client.updateUser({ user: user!.id, disabled: true }, { headers });
    expect(disabled.user?.disabled).toBe(true);
    const found = await client.listUsers({ query: "conn@" }, { headers });
    expect(found.users.map((u) => u.email)).toEqual(["conn@example.com"]);
    await client.setPassword({ user: "conn@example.com", password: "another-password" }, { headers });
    await expect(client.setPassword({ user: "nobody@example.com", password: "another-password" }, { headers })).rejects.toMatchObject({ code: Code.NotFound });
  });
});

describe("bad input gets INVALID_ARGUMENT naming the field", () => {
  it("refuses JSON with a wrongly typed field", async () => {
    const res = await fetch(`${t.core.url}/meshai.v1.MeshService/ListAgents`, {
      method: "POST",
      headers: { "content-type": "application/json", ...auth(manage) },
      body: JSON.stringify({ pageSize: "lots" }),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { code: string; message: string };
    expect(body.code).toBe("invalid_argument");
    expect(body.message).toMatch(/page_size/);
  });

  it("refuses a body that is not JSON", async () => {
    const res = await fetch(`${t.core.url}/meshai.v1.MeshService/ListAgents`, {
      method: "POST",
      headers: { "content-type": "application/json", ...auth(manage) },
      body: "{not json",
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { code: string }).code).toBe("invalid_argument");
  });

  it("refuses a page size out of range", async () => {
    const mesh = createClient(MeshService, createGrpcTransport({ baseUrl: t.core.url }));
    const err = await mesh.listAgents({ pageSize: 1000 }, { headers: auth(manage) }).then(
      () => new ConnectError("expected a failure"),
      (e: unknown) => ConnectError.from(e),
    );
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toMatch(/page_size/);
  });
});

describe("shutdown", () => {
  it("drains and does not hang on a stream the client never finishes", async () => {
    const own = await startTestCore();
    // Open a reflection stream, send one request, and never end it.
    const session = http2.connect(own.core.url);
    const stream = session.request({
      ":method": "POST",
      ":path": "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
      "content-type": "application/grpc",
      te: "trailers",
    });
    const msg = toBinary(ServerReflectionRequestSchema, create(ServerReflectionRequestSchema, { messageRequest: { case: "listServices", value: "" } }));
    const frame = Buffer.alloc(5 + msg.length);
    frame.writeUInt32BE(msg.length, 1);
    Buffer.from(msg).copy(frame, 5);
    stream.write(frame);
    await new Promise((resolve) => stream.once("data", resolve));
    stream.on("error", () => {});
    session.on("error", () => {});

    await own.close(); // resolves: the stalled stream is cut after the grace period
    expect(stream.destroyed || session.destroyed || session.closed).toBe(true);
    session.destroy();
  });
});

// gRPC server reflection against a real h2c server, probed by the tools people
// actually use: a grpc-js client and `buf curl` (the grpcurl stand-in).
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { createFileRegistry, fromBinary } from "@bufbuild/protobuf";
import type { FileDescriptorProto } from "@bufbuild/protobuf/wkt";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { MeshService } from "../../gen/meshai/v1/mesh_pb.js";
import { createHealthService } from "../../src/core/health.js";
import { registerReflection } from "../../src/core/reflection.js";
import { reader, serve } from "../support/connect-server.js";

const run = promisify(execFile);
const PROTO_DIR = new URL("../../proto/", import.meta.url).pathname;
const BUF = new URL("../../node_modules/.bin/buf", import.meta.url).pathname;


// proto-loader with keepCase: field names as in the .proto, bytes as Buffers;
// arrays: empty repeated fields arrive as [] instead of being left out.
type Reply = {
  valid_host: string;
  message_response: string;
  original_request?: { host: string; message_request: string; list_services?: string };
  list_services_response?: { service: { name: string }[] };
  file_descriptor_response?: { file_descriptor_proto: Buffer[] };
  all_extension_numbers_response?: { base_type_name: string; extension_number: number[] };
  error_response?: { error_code: number; error_message: string };
};

function reflectionClient(port: number, version: "v1" | "v1alpha") {
  const file = `grpc/reflection/${version}/reflection.proto`;
  const name = `grpc.reflection.${version}.ServerReflection`;
  const def = protoLoader.loadSync(file, { includeDirs: [PROTO_DIR], keepCase: true, oneofs: true, arrays: true });
  const Ctor = grpc.makeClientConstructor(def[name] as grpc.ServiceDefinition, name);
  const client = new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  /** One bidi stream; ask() writes a request and awaits its answer. */
  const open = () => {
    const call = client["ServerReflectionInfo"]!() as grpc.ClientDuplexStream<object, Reply>;
    const replies = reader<Reply>(call);
    return {
      ask: (req: object) => {
        call.write(req);
        return replies.next();
      },
      end: () => call.end(),
    };
  };
  return { open, close: () => client.close() };
}

const decode = (reply: Reply): FileDescriptorProto[] =>
  (reply.file_descriptor_response?.file_descriptor_proto ?? []).map((b) => fromBinary(FileDescriptorProtoSchema, b));

let server: Awaited<ReturnType<typeof serve>>;
let v1: ReturnType<typeof reflectionClient>;

beforeAll(async () => {
  const health = createHealthService(async () => true, { services: [MeshService.typeName] });
  server = await serve((router) => {
    router.service(MeshService, {}); // unimplemented methods answer UNIMPLEMENTED
    router.service(Health, health.impl);
    registerReflection(router, [MeshService]);
  });
  v1 = reflectionClient(server.port, "v1");
});

afterAll(async () => {
  v1?.close();
  await server?.close();
});

const EXPECTED_SERVICES = [
  "grpc.health.v1.Health",
  "grpc.reflection.v1.ServerReflection",
  "grpc.reflection.v1alpha.ServerReflection",
  "meshai.v1.MeshService",
];

describe("list_services", () => {
  it("lists every service the core serves, reflection and health included", async () => {
    const stream = v1.open();
    const reply = await stream.ask({ list_services: "" });
    stream.end();
    expect(reply.message_response).toBe("list_services_response");
    expect(reply.list_services_response?.service.map((s) => s.name).sort()).toEqual(EXPECTED_SERVICES);
  });

  it("answers identically on grpc.reflection.v1alpha", async () => {
    const v1alpha = reflectionClient(server.port, "v1alpha");
    const stream = v1alpha.open();
    const reply = await stream.ask({ list_services: "*" });
    stream.end();
    v1alpha.close();
    expect(reply.list_services_response?.service.map((s) => s.name).sort()).toEqual(EXPECTED_SERVICES);
  });
});

describe("file_containing_symbol", () => {
  it("returns the declaring file first, then all its transitive imports", async () => {
    const stream = v1.open();
    const files = decode(await stream.ask({ file_containing_symbol: "meshai.v1.MeshService" }));
    stream.end();
    expect(files.map((f) => f.name)).toEqual([
      "meshai/v1/mesh.proto",
      "google/protobuf/field_mask.proto",
      "google/protobuf/struct.proto",
      "google/protobuf/timestamp.proto",
    ]);
    expect(files[0]?.service.map((s) => s.name)).toEqual(["MeshService"]);
  });

  it("sends a self-contained set: a fresh registry resolves every type from it", async () => {
    const stream = v1.open();
    const files = decode(await stream.ask({ file_containing_symbol: "meshai.v1.MeshService" }));
    stream.end();
    const byName = new Map(files.map((f) => [f.name, f]));
    const registry = createFileRegistry(files[0]!, (name) => byName.get(name));
    expect(registry.getService("meshai.v1.MeshService")?.methods.length).toBeGreaterThan(0);
    expect(registry.getMessage("google.protobuf.Struct")).toBeDefined();
  });

  it.each([
    ["a message", "meshai.v1.TaskEvent", "meshai/v1/mesh.proto"],
    ["an enum", "meshai.v1.TaskEventType", "meshai/v1/mesh.proto"],
    ["a method", "meshai.v1.MeshService.ListAgents", "meshai/v1/mesh.proto"],
    ["a nested enum", "grpc.health.v1.HealthCheckResponse.ServingStatus", "grpc/health/v1/health.proto"],
    ["a name with a leading dot", ".meshai.v1.TaskEvent", "meshai/v1/mesh.proto"],
    ["a well-known type", "google.protobuf.Timestamp", "google/protobuf/timestamp.proto"],
  ])("resolves %s (%s)", async (_kind, symbol, file) => {
    const stream = v1.open();
    const files = decode(await stream.ask({ file_containing_symbol: symbol }));
    stream.end();
    expect(files[0]?.name).toBe(file);
  });
});

describe("file_by_filename", () => {
  it("returns a file by its import path, well-known types included", async () => {
    const stream = v1.open();
    const mesh = decode(await stream.ask({ file_by_filename: "meshai/v1/mesh.proto" }));
    const struct = decode(await stream.ask({ file_by_filename: "google/protobuf/struct.proto" }));
    stream.end();
    expect(mesh[0]?.package).toBe("meshai.v1");
    expect(struct.map((f) => f.name)).toEqual(["google/protobuf/struct.proto"]);
  });
});

describe("errors", () => {
  it("answers an unknown symbol with error_response NOT_FOUND and keeps the stream usable", async () => {
    const stream = v1.open();
    const missing = await stream.ask({ file_containing_symbol: "meshai.v1.NoSuchThing" });
    const missingFile = await stream.ask({ file_by_filename: "nope.proto" });
    const after = await stream.ask({ file_containing_symbol: "meshai.v1.TaskEvent" });
    stream.end();
    expect(missing.error_response?.error_code).toBe(grpc.status.NOT_FOUND);
    expect(missingFile.error_response?.error_code).toBe(grpc.status.NOT_FOUND);
    expect(decode(after)[0]?.name).toBe("meshai/v1/mesh.proto");
  });

  it("answers extension queries like grpc-go: no extensions for a known type, NOT_FOUND otherwise", async () => {
    const stream = v1.open();
    const numbers = await stream.ask({ all_extension_numbers_of_type: "meshai.v1.TaskEvent" });
    const unknownType = await stream.ask({ all_extension_numbers_of_type: "meshai.v1.Nope" });
    const ext = await stream.ask({
      file_containing_extension: { containing_type: "meshai.v1.TaskEvent", extension_number: 100 },
    });
    stream.end();
    expect(numbers.all_extension_numbers_response).toEqual({ base_type_name: "meshai.v1.TaskEvent", extension_number: [] });
    expect(unknownType.error_response?.error_code).toBe(grpc.status.NOT_FOUND);
    expect(ext.error_response?.error_code).toBe(grpc.status.NOT_FOUND);
  });

  it("echoes host and original_request as grpc-go does", async () => {
    const stream = v1.open();
    const reply = await stream.ask({ host: "example", list_services: "" });
    stream.end();
    expect(reply.valid_host).toBe("example");
    expect(reply.original_request).toMatchObject({ host: "example", message_request: "list_services" });
  });
});

describe("buf curl (real tooling, no local protos)", () => {
  const curl = (...args: string[]) =>
    run(BUF, ["curl", "--protocol", "grpc", "--http2-prior-knowledge", ...args], { timeout: 20_000 });

  it("lists the services", async () => {
    const { stdout } = await curl("--list-services", `http://127.0.0.1:${server.port}`);
    expect(stdout.trim().split("\n").sort()).toEqual(EXPECTED_SERVICES);
  });

  it("lists the methods", async () => {
    const { stdout } = await curl("--list-methods", `http://127.0.0.1:${server.port}`);
    const methods = stdout.trim().split("\n");
    expect(methods).toContain("meshai.v1.MeshService/ListAgents");
    expect(methods).toContain("grpc.health.v1.Health/Check");
    expect(methods).toContain("grpc.reflection.v1.ServerReflection/ServerReflectionInfo");
  });

  it("calls grpc.health.v1.Health/Check with the schema from reflection", async () => {
    const { stdout } = await curl("-d", '{"service": ""}', `http://127.0.0.1:${server.port}/grpc.health.v1.Health/Check`);
    expect(JSON.parse(stdout)).toEqual({ status: "SERVING" });
  });

  it("works over v1alpha alone, as older tools use it", async () => {
    const { stdout } = await curl(
      "--reflect-protocol",
      "grpc-v1alpha",
      "--list-services",
      `http://127.0.0.1:${server.port}`,
    );
    expect(stdout.trim().split("\n").sort()).toEqual(EXPECTED_SERVICES);
  });
});

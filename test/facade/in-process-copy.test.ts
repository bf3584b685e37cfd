import { clone, create, equals, type DescMessage } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { file_grpc_health_v1_health } from "../../gen/grpc/health/v1/health_pb.js";
import { file_grpc_reflection_v1_reflection } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { file_meshai_v1_auth, InteractionSchema, StartAuthorizationResponseSchema } from "../../gen/meshai/v1/auth_pb.js";
import { AgentCredentialsSchema, AgentSchema, AgentStatsSchema, file_meshai_v1_mesh, ListAgentsResponseSchema, RegisterAgentRequestSchema } from "../../gen/meshai/v1/mesh_pb.js";
import { copyOf } from "../../src/facade/in-process-transport.js";

/**
 * The in-process link copies messages structurally instead of with protobuf's
 * reflective clone; that is only right while every message is a plain object
 * (proto3 in protobuf-es v2), and the copy must equal the clone.
 */
describe("messages crossing the in-process link are copied exactly", () => {
  it("every file the core serves is proto3, whose messages are plain objects", () => {
    for (const file of [file_meshai_v1_mesh, file_meshai_v1_auth, file_grpc_health_v1_health, file_grpc_reflection_v1_reflection]) {
      expect(file.edition, file.name).toBe(999); // EDITION_PROTO3
    }
  });

  const agent = create(AgentSchema, {
    id: "a1",
    name: "Agent",
    capabilities: ["x", "y"],
    tags: ["t"],
    config: { model: "m", n: 1, nested: { list: [1, "two", null, { deep: true }] } },
    stats: create(AgentStatsSchema, { avgLatencyMs: 1.5, totalTasks: 12345678901234n, circuitState: "closed" }),
    createTime: timestampFromMs(1_700_000_000_123),
  });
  const samples: [DescMessage, unknown][] = [
    [ListAgentsResponseSchema, create(ListAgentsResponseSchema, { agents: [agent, agent], totalSize: 2, nextPageToken: "p" })],
    [RegisterAgentRequestSchema, create(RegisterAgentRequestSchema, { agent, credentials: create(AgentCredentialsSchema, { bearerToken: "b", headers: { "x-api-key": "k" } }) })],
    [StartAuthorizationResponseSchema, create(StartAuthorizationResponseSchema, { next: { case: "login", value: create(InteractionSchema, { id: "i" }) } })],
    [StartAuthorizationResponseSchema, create(StartAuthorizationResponseSchema, { next: { case: "redirectTo", value: "https://x/cb" } })],
  ];

  it("a copy equals protobuf's clone: repeated, map, oneof, Struct, Timestamp and 64-bit fields", () => {
    for (const [schema, message] of samples) {
      const copy = copyOf(message);
      expect(equals(schema, copy as never, clone(schema, message as never))).toBe(true);
      expect(copy).toStrictEqual(clone(schema, message as never));
    }
  });

  it("changing the copy leaves the original alone, at any depth", () => {
    const original = samples[0]![1] as { agents: { capabilities: string[]; config: { nested: { list: unknown[] } } }[] };
    const copy = copyOf(original);
    copy.agents[0]!.capabilities.push("z");
    copy.agents[1]!.config.nested.list.length = 0;
    expect(original.agents[0]!.capabilities).toEqual(["x", "y"]);
    expect(original.agents[1]!.config.nested.list).toHaveLength(4);
  });

  it("bytes are copied, not shared", () => {
    const bytes = new Uint8Array([1, 2, 3]);
    const copy = copyOf({ $typeName: "x", value: bytes });
    copy.value[0] = 9;
    expect(bytes[0]).toBe(1);
  });
});

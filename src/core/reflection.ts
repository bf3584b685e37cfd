// gRPC server reflection for Connect-ES v2. No npm package provides it
// (connect-es issue 507), and tools such as `buf curl` and grpcurl need it to
// call the core without local .proto files.
import { create, createFileRegistry, toBinary } from "@bufbuild/protobuf";
import type { DescFile, DescService, FileRegistry } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import type { ConnectRouter } from "@connectrpc/connect";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { ServerReflection as ReflectionV1 } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ReflectionV1alpha } from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";

// grpc::StatusCode values used in error_response (it carries raw ints).
const NOT_FOUND = 5;
const INVALID_ARGUMENT = 3;

/** The request shape v1 and v1alpha share (their TS types differ only in $typeName). */
type ReflectionRequest = {
  messageRequest:
    | { case: "fileByFilename" | "fileContainingSymbol" | "allExtensionNumbersOfType" | "listServices"; value: string }
    | { case: "fileContainingExtension"; value: { containingType: string; extensionNumber: number } }
    | { case: undefined; value?: undefined };
};

/**
 * Registers `grpc.reflection.v1.ServerReflection` and its v1alpha twin on the
 * router. `services` are the application services to advertise; the two
 * reflection services and `grpc.health.v1.Health` (which the core always
 * serves) are added. The descriptors sent are those embedded in the generated
 * code, so they always match what the router serves (they carry no comments:
 * protoc-gen-es strips source info).
 */
export function registerReflection(router: ConnectRouter, services: DescService[]): void {
  const answer = createReflectionAnswerer(services);
  // One implementation bound twice: many clients still speak only v1alpha.
  router.service(ReflectionV1, {
    async *serverReflectionInfo(requests) {
      // Answer each request as it arrives; a bidi stream may stay open for many.
      for await (const req of requests) yield { validHost: req.host, originalRequest: req, messageResponse: answer(req) };
    },
  });
  router.service(ReflectionV1alpha, {
    async *serverReflectionInfo(requests) {
      for await (const req of requests) yield { validHost: req.host, originalRequest: req, messageResponse: answer(req) };
    },
  });
}

/**
 * The protocol-independent core: maps one request to the `message_response`
 * oneof. Exported so it can be unit-tested without a server.
 */
export function createReflectionAnswerer(services: DescService[]) {
  const all = uniqueByName([...services, ReflectionV1, ReflectionV1alpha, Health]);
  const registry = fileRegistryOf(all.map((s) => s.file));
  const serviceNames = all.map((s) => s.typeName);

  const notFound = (what: string) =>
    ({ case: "errorResponse", value: { errorCode: NOT_FOUND, errorMessage: `${what} not found` } }) as const;
  const files = (file: DescFile) =>
    ({ case: "fileDescriptorResponse", value: { fileDescriptorProto: withDependencies(file) } }) as const;

  return function answer(req: ReflectionRequest) {
    const r = req.messageRequest;
    switch (r.case) {
      case "listServices":
        return { case: "listServicesResponse", value: { service: serviceNames.map((name) => ({ name })) } } as const;
      case "fileByFilename": {
        const file = registry.getFile(r.value);
        return file ? files(file) : notFound(`file ${r.value}`);
      }
      case "fileContainingSymbol": {
        const file = fileOfSymbol(registry, r.value.replace(/^\./, ""));
        return file ? files(file) : notFound(`symbol ${r.value}`);
      }
      case "fileContainingExtension": {
        // Like grpc-go: NOT_FOUND unless the extension is really known.
        const msg = registry.getMessage(r.value.containingType.replace(/^\./, ""));
        const ext = msg && registry.getExtensionFor(msg, r.value.extensionNumber);
        return ext ? files(ext.file) : notFound(`extension ${r.value.containingType}:${r.value.extensionNumber}`);
      }
      case "allExtensionNumbersOfType": {
        const name = r.value.replace(/^\./, "");
        if (!registry.getMessage(name)) return notFound(`type ${r.value}`);
        const numbers: number[] = [];
        for (const d of registry) if (d.kind === "extension" && d.extendee.typeName === name) numbers.push(d.number);
        return { case: "allExtensionNumbersResponse", value: { baseTypeName: name, extensionNumber: numbers } } as const;
      }
      default:
        // grpc-go ends the stream here; an error_response keeps it usable.
        return {
          case: "errorResponse",
          value: { errorCode: INVALID_ARGUMENT, errorMessage: "empty message_request" },
        } as const;
    }
  };
}

function uniqueByName(services: DescService[]): DescService[] {
  return [...new Map(services.map((s) => [s.typeName, s])).values()];
}

/** A validated registry over the files and all their transitive imports (WKTs included). */
function fileRegistryOf(roots: DescFile[]): FileRegistry {
  const ordered = new Map<string, DescFile>();
  const visit = (f: DescFile) => {
    if (ordered.has(f.proto.name)) return;
    f.dependencies.forEach(visit); // imports first: the registry resolves them by name
    ordered.set(f.proto.name, f);
  };
  roots.forEach(visit);
  return createFileRegistry(create(FileDescriptorSetSchema, { file: [...ordered.values()].map((f) => f.proto) }));
}

/** Types resolve directly; methods and fields resolve through their parent. */
function fileOfSymbol(registry: FileRegistry, name: string): DescFile | undefined {
  const direct = registry.get(name);
  if (direct) return direct.file;
  const dot = name.lastIndexOf(".");
  const parent = dot > 0 ? registry.get(name.slice(0, dot)) : undefined;
  const member = name.slice(dot + 1);
  if (parent?.kind === "service" && parent.methods.some((m) => m.name === member)) return parent.file;
  if (parent?.kind === "message" && parent.fields.some((f) => f.name === member)) return parent.file;
  return undefined;
}

/**
 * The file first, then its transitive imports. Every answer is complete, so
 * the server keeps no per-stream state (the spec allows but does not require
 * skipping files already sent).
 */
function withDependencies(file: DescFile): Uint8Array[] {
  const seen = new Set<string>();
  const out: Uint8Array[] = [];
  const queue = [file];
  for (let f = queue.shift(); f; f = queue.shift()) {
    if (seen.has(f.proto.name)) continue;
    seen.add(f.proto.name);
    out.push(toBinary(FileDescriptorProtoSchema, f.proto));
    queue.push(...f.dependencies);
  }
  return out;
}

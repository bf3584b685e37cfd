import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { SignJWT, generateKeyPair } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestCore, startTestCore } from "../support/core.js";

// An internal service as it would really be written: @grpc/grpc-js loading proto/ directly.
const definition = protoLoader.loadSync(["meshai/v1/mesh.proto", "meshai/v1/auth.proto"], {
  includeDirs: [path.resolve("proto")],
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  arrays: true,
});
const meshai = (grpc.loadPackageDefinition(definition) as any).meshai.v1;

type Call = (method: string, request: object, token?: string) => Promise<any>;

function caller(client: grpc.Client): Call {
  return (method, request, token) =>
    new Promise((resolve, reject) => {
      const metadata = new grpc.Metadata();
      if (token !== undefined) metadata.set("authorization", token.includes(" ") ? token : `Bearer ${token}`);
      (client as any)[method](request, metadata, (err: grpc.ServiceError | null, res: unknown) => (err ? reject(err) : resolve(res)));
    });
}

let t: TestCore;
let mesh: Call;
let auth: Call;
let clients: grpc.Client[];
let readToken: string;
let manageToken: string;

beforeAll(async () => {
  t = await startTestCore();
  const target = t.core.url.replace("http://", "");
  const meshClient = new meshai.MeshService(target, grpc.credentials.createInsecure());
  const authClient = new meshai.AuthService(target, grpc.credentials.createInsecure());
  clients = [meshClient, authClient];
  mesh = caller(meshClient);
  auth = caller(authClient);
  readToken = await t.token("mcp:read", "reader@example.com");
  manageToken = await t.token("mcp:read mcp:manage");
});

afterAll(async () => {
  for (const c of clients) c.close();
  await t.close();
});

const agent = (over: object = {}) => ({
  id: "echo-1",
  name: "Echo",
  description: "Repeats what it is told",
  framework: "LangChain",
  capabilities: ["text_generation"],
  protocol: "AGENT_PROTOCOL_MESHAI_HTTP",
  endpoint: "http://127.0.0.1:9/execute",
  tags: ["demo"],
  ...over,
});

describe("the core authenticates every MeshService call with a bearer access token", () => {
  it("lists agents (the built-ins on a fresh install) for a token issued by the platform", async () => {
    const res = await mesh("listAgents", {}, readToken);
    expect(res.agents.map((a: any) => a.id)).toEqual(["builtin.security-scanner", "builtin.data-analyst", "builtin.docs"]);
  });

  it("refuses a call without a token as UNAUTHENTICATED", async () => {
    await expect(mesh("listAgents", {})).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED });
  });

  it("refuses an authorization header that is not a bearer token", async () => {
    await expect(mesh("listAgents", {}, "Basic dXNlcjpwYXNz")).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED });
  });

  it("refuses a token signed by a key the platform does not hold", async () => {
    const { privateKey } = await generateKeyPair("ES256");
    const { kid } = await t.core.platform.keys.signingKey();
    const forged = await new SignJWT({ scope: "mcp:read", client_id: "x" })
      .setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid })
      .setIssuer(t.config.issuer)
      .setAudience(t.config.mcpResource)
      .setSubject("usr_x")
      .setIssuedAt()
      .setExpirationTime("5m")
      .setJti("forged")
      .sign(privateKey);
    await expect(mesh("listAgents", {}, forged)).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED });
  });

  it("refuses a token whose audience is not one of the platform's resources", async () => {
    const { kid, key } = await t.core.platform.keys.signingKey();
    const other = await new SignJWT({ scope: "mcp:read", client_id: "x" })
      .setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid })
      .setIssuer(t.config.issuer)
      .setAudience("https://elsewhere.example/api")
      .setSubject("usr_x")
      .setIssuedAt()
      .setExpirationTime("5m")
      .setJti("other-aud")
      .sign(key);
    const err = await mesh("listAgents", {}, other).catch((e) => e);
    expect(err.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(err.details).toMatch(/aud/);
  });

  it("refuses an expired token", async () => {
    const { kid, key } = await t.core.platform.keys.signingKey();
    const now = Math.floor(Date.now() / 1000);
    const expired = await new SignJWT({ scope: "mcp:read", client_id: "x" })
      .setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid })
      .setIssuer(t.config.issuer)
      .setAudience(t.config.mcpResource)
      .setSubject("usr_x")
      .setIssuedAt(now - 7200)
      .setExpirationTime(now - 3600)
      .setJti("expired")
      .sign(key);
    const err = await mesh("listAgents", {}, expired).catch((e) => e);
    expect(err.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(err.details).toMatch(/expired/);
  });

  it("refuses unsigned (alg none) and symmetric (HS256) tokens", async () => {
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const claims = { iss: t.config.issuer, aud: t.config.mcpResource, sub: "usr_x", scope: "mcp:read", exp: 9999999999, iat: 1, jti: "n" };
    const none = `${b64({ alg: "none", typ: "at+jwt" })}.${b64(claims)}.`;
    await expect(mesh("listAgents", {}, none)).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED });
    const hs = await new SignJWT(claims).setProtectedHeader({ alg: "HS256", typ: "at+jwt" }).sign(new TextEncoder().encode("x".repeat(32)));
    await expect(mesh("listAgents", {}, hs)).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED });
  });

  it("stops accepting a user's token as soon as the user is disabled", async () => {
    const token = await t.token("mcp:read", "soon-disabled@example.com");
    await mesh("listAgents", {}, token);
    await auth("updateUser", { user: "soon-disabled@example.com", disabled: true }, manageToken);
    const err = await mesh("listAgents", {}, token).catch((e) => e);
    expect(err.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(err.details).toMatch(/disabled/);
  });
});

describe("each RPC needs its scope", () => {
  it("refuses RegisterAgent to a token without mcp:manage as PERMISSION_DENIED", async () => {
    const err = await mesh("registerAgent", { agent: agent() }, readToken).catch((e) => e);
    expect(err.code).toBe(grpc.status.PERMISSION_DENIED);
    // grpc-js leaves percent-escapes of reserved characters in details (it uses decodeURI).
    expect(decodeURIComponent(err.details)).toMatch(/mcp:manage/);
  });

  it("refuses user administration to a token without mcp:manage", async () => {
    await expect(auth("listUsers", {}, readToken)).rejects.toMatchObject({ code: grpc.status.PERMISSION_DENIED });
  });

  it("answers public RPCs without a token (server metadata, JWKS)", async () => {
    const jwks = JSON.parse((await auth("getJwks", {})).jwksJson);
    expect(jwks.keys[0]).toMatchObject({ kty: "EC", crv: "P-256", alg: "ES256", use: "sig" });
    expect(jwks.keys[0].d).toBeUndefined();
  });
});

describe("the agent registry over gRPC", () => {
  it("registers, gets, updates and deletes an agent", async () => {
    const created = await mesh("registerAgent", { agent: agent(), credentials: { bearerToken: "s3cret-agent-key" } }, manageToken);
    expect(created.agent).toMatchObject({ id: "echo-1", name: "Echo", framework: "langchain", protocol: "AGENT_PROTOCOL_MESHAI_HTTP", enabled: true, hasCredentials: true });

    const got = await mesh("getAgent", { id: "echo-1" }, readToken);
    expect(got.agent.capabilities).toEqual(["text_generation"]);
    expect(JSON.stringify(got)).not.toContain("s3cret-agent-key");

    const updated = await mesh("updateAgent", { agent: { id: "echo-1", name: "Echo 2", capabilities: ["text_generation", "reasoning"] }, updateMask: { paths: ["name", "capabilities"] } }, manageToken);
    expect(updated.agent).toMatchObject({ name: "Echo 2", capabilities: ["text_generation", "reasoning"], description: "Repeats what it is told" });

    await mesh("deleteAgent", { id: "echo-1" }, manageToken);
    await expect(mesh("getAgent", { id: "echo-1" }, readToken)).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  it("filters by capability and framework and pages through the list", async () => {
    for (let i = 0; i < 5; i++) {
      await mesh("registerAgent", { agent: agent({ id: `page-${i}`, name: `Page ${i}`, framework: i % 2 ? "crewai" : "autogen", capabilities: i < 3 ? ["code_generation"] : ["data_analysis"] }) }, manageToken);
    }
    const code = await mesh("listAgents", { capabilities: ["code_generation"] }, readToken);
    expect(code.agents.map((a: any) => a.id)).toEqual(["page-0", "page-1", "page-2"]);
    const crew = await mesh("listAgents", { framework: "CrewAI" }, readToken);
    expect(crew.agents.map((a: any) => a.id)).toEqual(["page-1", "page-3"]);

    const first = await mesh("listAgents", { pageSize: 2, tags: ["demo"] }, readToken);
    expect(first.agents).toHaveLength(2);
    expect(first.totalSize).toBe(5);
    const second = await mesh("listAgents", { pageSize: 2, tags: ["demo"], pageToken: first.nextPageToken }, readToken);
    const third = await mesh("listAgents", { pageSize: 2, tags: ["demo"], pageToken: second.nextPageToken }, readToken);
    expect([...first.agents, ...second.agents, ...third.agents].map((a: any) => a.id)).toEqual(["page-0", "page-1", "page-2", "page-3", "page-4"]);
    expect(third.nextPageToken).toBe("");
  });

  it("refuses an invalid agent with INVALID_ARGUMENT naming the field, and stores nothing", async () => {
    const cases: Array<[object, RegExp]> = [
      [agent({ id: "bad-1", capabilities: [] }), /agent\.capabilities/],
      [agent({ id: "bad-2", endpoint: "ftp://x" }), /agent\.endpoint/],
      [agent({ id: "bad-3", name: "" }), /agent\.name/],
      [agent({ id: "bad-4", protocol: "AGENT_PROTOCOL_UNSPECIFIED" }), /agent\.protocol/],
      [agent({ id: "bad 5" }), /agent\.id/],
      [agent({ id: "bad-6", capabilities: ["Not Valid"] }), /agent\.capabilities/],
    ];
    for (const [input, field] of cases) {
      const err = await mesh("registerAgent", { agent: input }, manageToken).catch((e) => e);
      expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(err.details).toMatch(field);
    }
    const all = await mesh("listAgents", { includeDisabled: true, pageSize: 200 }, readToken);
    expect(all.agents.filter((a: any) => a.id.startsWith("bad"))).toEqual([]);
  });

  it("refuses a page token it did not issue", async () => {
    const err = await mesh("listAgents", { pageToken: "garbage!" }, readToken).catch((e) => e);
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/page_token/);
  });

  it("refuses a malformed SubmitWorkflow with INVALID_ARGUMENT naming the field", async () => {
    // SubmitWorkflow is implemented now (workflows); a payload without steps is a client mistake, not a 5xx.
    const err = await mesh("submitWorkflow", { workflowType: "sequential" }, await t.token("mcp:execute", "runner@example.com")).catch((e) => e);
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(decodeURIComponent(err.details)).toMatch(/^payload\.steps: is required/);
  });
});

describe("users over gRPC", () => {
  it("creates a user, and refuses the same email twice", async () => {
    const res = await auth("createUser", { email: "New@Example.com", name: "New", password: "long-enough-1" }, manageToken);
    expect(res.user).toMatchObject({ email: "new@example.com", admin: false, disabled: false });
    await expect(auth("createUser", { email: "new@example.com", password: "long-enough-1" }, manageToken)).rejects.toMatchObject({ code: grpc.status.ALREADY_EXISTS });
  });

  it("refuses a short password naming the field, and creates no user", async () => {
    const err = await auth("createUser", { email: "short@example.com", password: "short" }, manageToken).catch((e) => e);
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/^password/);
    await expect(auth("getUser", { user: "short@example.com" }, manageToken)).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  it("never returns a password hash", async () => {
    const res = await auth("listUsers", {}, manageToken);
    expect(res.users.length).toBeGreaterThan(0);
    expect(JSON.stringify(res)).not.toMatch(/argon2|password/i);
  });
});

describe("malformed requests", () => {
  it("answers undecodable protobuf with INVALID_ARGUMENT", async () => {
    const client = clients[0]!;
    const err = await new Promise<any>((resolve) => {
      const md = new grpc.Metadata();
      md.set("authorization", `Bearer ${readToken}`);
      client.makeUnaryRequest(
        "/meshai.v1.MeshService/ListAgents",
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.from([0x0a, 0xff, 0xff, 0xff]),
        md,
        (e) => resolve(e),
      );
    });
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
  });
});

import type { JsonObject } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentProtocol, MeshService, TaskState } from "../../../gen/meshai/v1/mesh_pb.js";
import { BUILTIN_TEMPLATES, checkTemplate } from "../../../src/core/mesh/workflows/templates.js";
import { startTestCore, type TestCore } from "../../support/core.js";
import { databaseTargets, type FreshPostgresDatabase, freshPostgresDatabase } from "../../support/postgres.js";
import { type ScriptedAgent, startScriptedAgent } from "./peers.js";

let t: TestCore;
let pg: FreshPostgresDatabase | undefined;
let admin: string;
let alice: string;
let mesh: ReturnType<typeof createClient<typeof MeshService>>;
let writer: ScriptedAgent;
const auth = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

async function failure(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (e) {
    return ConnectError.from(e);
  }
  throw new Error("it succeeded");
}

async function runToEnd(workflowType: string, payload: Record<string, unknown>) {
  const { workflow } = await mesh.submitWorkflow({ workflowType, payload: payload as JsonObject }, auth(alice));
  for await (const _ of mesh.watchTask({ id: workflow!.id, afterSeq: 0n }, auth(alice))) void _;
  return (await mesh.getTask({ id: workflow!.id }, auth(alice))).task!;
}

const triage = {
  name: "triage",
  description: "Sorts incoming zeppelin incident reports by urgency and drafts replies.",
  workflowType: "sequential",
  definition: {
    input: { report: "${params.report}" },
    steps: [
      { id: "sort", task: "Rate the urgency of: {{input.report}}", capabilities: "${params.caps}" },
      { id: "reply", task: "Draft a reply in ${params.tone} tone to: {{previous.output}}", capabilities: ["writing"] },
    ],
  } as JsonObject,
  parameters: [
    { name: "report", description: "the incident report", required: true },
    { name: "caps", description: "capabilities of the rater", required: false, defaultValue: { kind: { case: "listValue" as const, value: { values: [{ kind: { case: "stringValue" as const, value: "writing" } }] } } } },
    { name: "tone", description: "tone of the reply", required: false, defaultValue: { kind: { case: "stringValue" as const, value: "calm" } } },
  ],
};

for (const target of databaseTargets()) {
describe(`on ${target.name}`, () => {
  beforeAll(async () => {
    pg = target.name === "postgres" ? await freshPostgresDatabase(target.url) : undefined;
    t = await startTestCore({ MESHAI_ALLOW_PRIVATE_NETWORK: "true", MESHAI_HEALTH_CHECK_INTERVAL: "0", ...(pg ? { MESHAI_DATABASE_URL: pg.url } : {}) });
    admin = await t.token("mcp:read mcp:execute mcp:manage");
    alice = await t.token("mcp:read mcp:execute", "alice@example.com");
    mesh = createClient(MeshService, createGrpcTransport({ baseUrl: t.core.url }));
    writer = await startScriptedAgent((task) => ({ output: `W<${task}>` }));
    await mesh.registerAgent(
      { agent: { id: "writer", name: "writer", protocol: AgentProtocol.MESHAI_HTTP, endpoint: writer.url, capabilities: ["writing", "text_generation", "urgent_rating"], maxConcurrentTasks: 10 } },
      auth(admin),
    );
  }, 60_000);

  afterAll(async () => {
    await t?.close();
    await pg?.drop();
    await writer?.close();
  });

  describe("MeshAI starts with built-in templates that are valid workflows", () => {
    it("lists code-review, debug-and-fix and data-report, each passing the template check", async () => {
      const { templates } = await mesh.listWorkflowTemplates({}, auth(alice));
      expect(templates.map((x) => x.name)).toEqual(expect.arrayContaining(["code-review", "data-report", "debug-and-fix"]));
      const limits = { maxSteps: 100, maxFanOut: 50, maxRunSeconds: 3600, maxStepTimeoutSeconds: 3600 };
      for (const b of BUILTIN_TEMPLATES) expect(() => checkTemplate(b, limits)).not.toThrow();
    });

    it("runs data-report end to end: the built-in analyst computes, a writer reports", async () => {
      const task = await runToEnd("data-report", { data: "city,visitors\nOslo,120\nBergen,80\nTromso,40", audience: "the tourism board" });
      expect(task.state).toBe(TaskState.COMPLETED);
      expect((task.result as any).steps.analyse.agent_id).toBe("builtin.data-analyst");
      const report = writer.received.find((x) => x.startsWith("Write a short report for the tourism board"))!;
      expect(report).toMatch(/visitors/);
      expect(task.output).toBe(`W<${report}>`);
    });
  });

  describe("templates are stored by mcp:manage and run by name with parameters", () => {
    it("a manager creates one; others may read it but not write it", async () => {
      const { template } = await mesh.putWorkflowTemplate({ template: triage }, auth(admin));
      expect(template).toMatchObject({ name: "triage", workflowType: "sequential" });
      expect(template!.parameters.map((p) => [p.name, p.required])).toEqual([["report", true], ["caps", false], ["tone", false]]);
      expect((await failure(mesh.putWorkflowTemplate({ template: { ...triage, name: "mine" } }, auth(alice)))).code).toBe(Code.PermissionDenied);
      expect((await failure(mesh.deleteWorkflowTemplate({ name: "triage" }, auth(alice)))).code).toBe(Code.PermissionDenied);
      const { template: got } = await mesh.getWorkflowTemplate({ name: "triage" }, auth(alice));
      expect(got!.definition).toEqual(triage.definition);
    });

    it("runs it: whole-value placeholders take any JSON, placeholders in text take the text, defaults fill the rest", async () => {
      const task = await runToEnd("triage", { report: "engine 3 smoking", caps: ["urgent_rating"], tone: "reassuring" });
      expect(task.state).toBe(TaskState.COMPLETED);
      expect(writer.received).toContain("Rate the urgency of: engine 3 smoking");
      expect(task.output).toBe("W<Draft a reply in reassuring tone to: W<Rate the urgency of: engine 3 smoking>>");
      expect(task.capabilities).toEqual(expect.arrayContaining(["urgent_rating", "writing"]));
      const withDefaults = await runToEnd("triage", { report: "hull dented" });
      expect(withDefaults.output).toMatch(/^W<Draft a reply in calm tone/);
    });

    it("names the parameter that is missing or unknown", async () => {
      const missing = await failure(mesh.submitWorkflow({ workflowType: "triage", payload: {} }, auth(alice)));
      expect(missing.code).toBe(Code.InvalidArgument);
      expect(missing.rawMessage).toMatch(/^payload\.report: is required by template triage \(the incident report\)/);
      const extra = await failure(mesh.submitWorkflow({ workflowType: "triage", payload: { report: "x", colour: "red" } }, auth(alice)));
      expect(extra.rawMessage).toMatch(/^payload\.colour: template triage has no parameter colour/);
      const unknown = await failure(mesh.submitWorkflow({ workflowType: "no-such-template", payload: {} }, auth(alice)));
      expect(unknown.rawMessage).toMatch(/^workflow_type: "no-such-template" is neither a workflow type .* nor a template/);
    });

    it("refuses a broken template up front, naming what is wrong", async () => {
      const undeclared = await failure(mesh.putWorkflowTemplate({ template: { ...triage, name: "bad1", parameters: [] } }, auth(admin)));
      expect(undeclared.code).toBe(Code.InvalidArgument);
      expect(undeclared.rawMessage).toMatch(/^template\.definition: \$\{params\.\w+\} is not a declared parameter/);
      const broken = await failure(mesh.putWorkflowTemplate({ template: { name: "bad2", workflowType: "dag", definition: { steps: [{ id: "a", task: "x", depends_on: ["a"] }] } } }, auth(admin)));
      expect(broken.rawMessage).toMatch(/^template\.definition: steps\[0\]\.depends_on\[0\]: step a cannot depend on itself/);
      const typeName = await failure(mesh.putWorkflowTemplate({ template: { ...triage, name: "sequential" } }, auth(admin)));
      expect(typeName.rawMessage).toMatch(/^template\.name: sequential is a workflow type/);
    });

    it("search finds it and fetch returns its definition", async () => {
      const res = await mesh.search({ query: "zeppelin incident urgency", type: "workflows" }, auth(alice));
      expect(res.results.map((r) => r.id)).toContain("workflow:triage");
      const doc = await mesh.fetch({ id: "workflow:triage" }, auth(alice));
      expect(doc.text).toContain("Rate the urgency of");
    });

    it("a deleted template can no longer be run", async () => {
      await mesh.putWorkflowTemplate({ template: { ...triage, name: "short-lived" } }, auth(admin));
      await mesh.deleteWorkflowTemplate({ name: "short-lived" }, auth(admin));
      expect((await failure(mesh.getWorkflowTemplate({ name: "short-lived" }, auth(alice)))).code).toBe(Code.NotFound);
      expect((await failure(mesh.submitWorkflow({ workflowType: "short-lived", payload: { report: "x" } }, auth(alice)))).code).toBe(Code.InvalidArgument);
    });
  });
});
}

import { create, fromJson, type JsonObject, type JsonValue, toJson } from "@bufbuild/protobuf";
import { timestampFromMs, ValueSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { type MeshService, type WorkflowTemplate, WorkflowTemplateParameterSchema, WorkflowTemplateSchema } from "../../../../gen/meshai/v1/mesh_pb.js";
import { principalOf } from "../../auth/policy.js";
import { pageOffset, pageSize, paged } from "../../auth/service.js";
import type { MeshEngine } from "../engine.js";
import { taskMessage } from "../tasks.js";
import { parseWorkflow, WORKFLOW_TYPES } from "./definition.js";
import { checkTemplate, instantiate, type TemplateRecord } from "./templates.js";

const AGENT_ID = /^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$/;

function templateMessage(t: TemplateRecord): WorkflowTemplate {
  return create(WorkflowTemplateSchema, {
    name: t.name,
    description: t.description,
    workflowType: t.type,
    definition: t.definition as JsonObject,
    parameters: t.parameters.map((p) =>
      create(WorkflowTemplateParameterSchema, {
        name: p.name,
        description: p.description,
        required: p.required,
        defaultValue: p.default === undefined ? undefined : fromJson(ValueSchema, p.default as JsonValue),
      }),
    ),
    createdBy: t.createdBy ?? "",
    createTime: timestampFromMs(t.createdAt),
    updateTime: timestampFromMs(t.updatedAt),
  });
}

/**
 * SubmitWorkflow: checks the payload up front (InvalidArgument naming the bad
 * field), stores the workflow owned by the caller and returns it at once;
 * WatchTask, GetTask, ListTasks and CancelTask then work on it as on a task.
 * workflow_type may name a stored template, whose parameters the payload gives.
 */
export function createWorkflowHandlers(mesh: MeshEngine): Partial<ServiceImpl<typeof MeshService>> {
  const { templates } = mesh;
  return {
    async submitWorkflow(req, ctx) {
      const p = principalOf(ctx);
      const type = req.workflowType.trim();
      if (!type) throw new ConnectError(`workflow_type: is required (${WORKFLOW_TYPES.join(", ")} or a template name)`, Code.InvalidArgument);
      if (req.idempotencyKey.length > 200) throw new ConnectError("idempotency_key: must be at most 200 characters", Code.InvalidArgument);
      const agents = [...new Set(req.agents.map((a) => a.trim()).filter(Boolean))];
      if (agents.length > 32) throw new ConnectError("agents: may list at most 32 agents", Code.InvalidArgument);
      for (const a of agents) if (!AGENT_ID.test(a)) throw new ConnectError(`agents: ${JSON.stringify(a)} is not an agent id`, Code.InvalidArgument);
      const payload = (req.payload ?? {}) as Record<string, unknown>;
      if (JSON.stringify(payload).length > 2_000_000) throw new ConnectError("payload: must be at most 2 MB of JSON", Code.InvalidArgument);
      let def;
      let request: Record<string, unknown> = { workflow_type: type, payload, agents };
      if ((WORKFLOW_TYPES as readonly string[]).includes(type.toLowerCase())) {
        def = parseWorkflow(type.toLowerCase(), payload, agents, mesh.workflowLimits);
      } else {
        const template = /^[A-Za-z][A-Za-z0-9_-]{0,127}$/.test(type) ? await templates.get(type) : undefined;
        if (!template) {
          throw new ConnectError(`workflow_type: ${JSON.stringify(type)} is neither a workflow type (${WORKFLOW_TYPES.join(", ")}) nor a template (ListWorkflowTemplates shows them)`, Code.InvalidArgument);
        }
        def = instantiate(template, payload, agents, mesh.workflowLimits);
        request = { ...request, template: template.name, template_updated_at: template.updatedAt };
      }
      const { task } = await mesh.workflows.submit(p.subject, def, request, req.idempotencyKey);
      return { workflow: taskMessage(task) };
    },

    async putWorkflowTemplate(req, ctx) {
      const t = req.template;
      if (!t) throw new ConnectError("template: is required", Code.InvalidArgument);
      const input = {
        name: t.name.trim(),
        description: t.description.trim(),
        type: t.workflowType.trim().toLowerCase(),
        definition: (t.definition ?? {}) as Record<string, unknown>,
        parameters: t.parameters.map((p) => {
          const def = p.defaultValue ? (toJson(ValueSchema, p.defaultValue) as unknown) : undefined;
          return { name: p.name.trim(), description: p.description.trim(), required: p.required, ...(def !== undefined && def !== null ? { default: def } : {}) };
        }),
        createdBy: principalOf(ctx).subject,
      };
      input.parameters.forEach((p, i) => {
        if (p.required && p.default !== undefined) throw new ConnectError(`template.parameters[${i}].default_value: a required parameter has no default`, Code.InvalidArgument);
      });
      checkTemplate(input, mesh.workflowLimits);
      return { template: templateMessage(await templates.put(input, mesh.clock.now())) };
    },

    async getWorkflowTemplate(req) {
      const t = req.name ? await templates.get(req.name) : undefined;
      if (!req.name) throw new ConnectError("name: is required", Code.InvalidArgument);
      if (!t) throw new ConnectError(`workflow template ${req.name} not found`, Code.NotFound);
      return { template: templateMessage(t) };
    },

    async listWorkflowTemplates(req) {
      const size = pageSize(req.pageSize);
      const offset = pageOffset(req.pageToken);
      const { items, nextPageToken } = paged(await templates.list(offset, size + 1), offset, size);
      return { templates: items.map(templateMessage), nextPageToken };
    },

    async deleteWorkflowTemplate(req) {
      if (!req.name) throw new ConnectError("name: is required", Code.InvalidArgument);
      if (!(await templates.remove(req.name))) throw new ConnectError(`workflow template ${req.name} not found`, Code.NotFound);
      return {};
    },
  };
}

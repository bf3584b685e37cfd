import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import type { MeshService } from "../../../../gen/meshai/v1/mesh_pb.js";
import { principalOf } from "../../auth/policy.js";
import type { MeshEngine } from "../engine.js";
import { taskMessage } from "../tasks.js";
import { parseWorkflow } from "./definition.js";

const AGENT_ID = /^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$/;

/**
 * SubmitWorkflow: checks the payload up front (InvalidArgument naming the bad
 * field), stores the workflow owned by the caller and returns it at once;
 * WatchTask, GetTask, ListTasks and CancelTask then work on it as on a task.
 */
export function createWorkflowHandlers(mesh: MeshEngine): Partial<ServiceImpl<typeof MeshService>> {
  return {
    async submitWorkflow(req, ctx) {
      const p = principalOf(ctx);
      const type = req.workflowType.trim().toLowerCase();
      if (!type) throw new ConnectError("workflow_type: is required (sequential, parallel or dag)", Code.InvalidArgument);
      if (req.idempotencyKey.length > 200) throw new ConnectError("idempotency_key: must be at most 200 characters", Code.InvalidArgument);
      const agents = [...new Set(req.agents.map((a) => a.trim()).filter(Boolean))];
      if (agents.length > 32) throw new ConnectError("agents: may list at most 32 agents", Code.InvalidArgument);
      for (const a of agents) if (!AGENT_ID.test(a)) throw new ConnectError(`agents: ${JSON.stringify(a)} is not an agent id`, Code.InvalidArgument);
      const payload = (req.payload ?? {}) as Record<string, unknown>;
      if (JSON.stringify(payload).length > 2_000_000) throw new ConnectError("payload: must be at most 2 MB of JSON", Code.InvalidArgument);
      const def = parseWorkflow(type, payload, agents, mesh.workflowLimits);
      const { task } = await mesh.workflows.submit(p.subject, def, { workflow_type: type, payload, agents }, req.idempotencyKey);
      return { workflow: taskMessage(task) };
    },
  };
}

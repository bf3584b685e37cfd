import { Code, ConnectError } from "@connectrpc/connect";
import type { Router } from "@koa/router";
import type { Context } from "koa";
import { type Agent, AgentHealth, AgentProtocol, TaskState } from "../../../gen/meshai/v1/mesh_pb.js";
import type { RouteDeps } from "../app.js";
import { classifyError } from "../errors.js";
import { type Html, html } from "../pages/html.js";
import { when } from "./frame.js";
import { adminOf, type ConsoleKit, type ConsoleRoutes } from "./kit.js";
import { liveScript } from "./assets.js";
import { buttonForm, confirmStep, confirmed, type Fields, field, link, pager } from "./widgets.js";
import { queryOf } from "../oauth/params.js";

const PAGE_SIZE = 50;
const RECENT_TASKS = 10;
/** Mistakes the admin can correct on the same form. */
const FIXABLE = new Set([Code.InvalidArgument, Code.AlreadyExists]);
/** The protocols an agent can be registered with from the console (builtin agents ship with MeshAI). */
const PROTOCOLS: Array<[AgentProtocol, string, string]> = [
  [AgentProtocol.A2A, "a2a", "A2A (Agent2Agent JSON-RPC)"],
  [AgentProtocol.OPENAI, "openai", "OpenAI-compatible chat completions"],
  [AgentProtocol.LANGSERVE, "langserve", "LangServe runnable"],
  [AgentProtocol.LANGGRAPH, "langgraph", "LangGraph Agent Server"],
  [AgentProtocol.MESHAI_HTTP, "meshai_http", "MeshAI SDK (POST /execute)"],
];

export const protocolWord = (p: AgentProtocol) => (p === AgentProtocol.UNSPECIFIED ? "" : (AgentProtocol[p] ?? "").toLowerCase());
const healthWord = (h: AgentHealth) => (h === AgentHealth.UNSPECIFIED ? "unknown" : (AgentHealth[h] ?? "unknown").toLowerCase());
const agentPath = (id: string) => `/admin/agents/${encodeURIComponent(id)}`;

/** Comma- or space-separated words, as typed in a capabilities or tags field. */
function words(text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).filter(Boolean))];
}

function healthTag(a: Agent): Html {
  const h = healthWord(a.health);
  const cls = h === "healthy" ? "tag on" : h === "unhealthy" ? "tag off" : "tag";
  return html`<span class="${cls}">${h}</span>`;
}

const enabledTag = (a: Agent) => (a.enabled ? html`<span class="tag on">enabled</span>` : html`<span class="tag off">disabled</span>`);

function stats(a: Agent) {
  const s = a.stats;
  const total = Number(s?.totalTasks ?? 0n);
  return {
    total,
    successRate: total ? `${Math.round((s?.successRate ?? 1) * 100)}%` : "—",
    latency: total ? `${Math.round(s?.avgLatencyMs ?? 0)} ms` : "—",
    load: `${s?.currentLoad ?? 0} / ${a.maxConcurrentTasks}`,
    circuit: s?.circuitState || "closed",
  };
}

/** The list's rows: also the fragment the live script re-fetches. */
function agentRows(agents: Agent[], filtered = false): Html {
  if (!agents.length) return html`<tr><td colspan="8" class="empty">${filtered ? "No agent matches these filters." : "No agents yet. Register one."}</td></tr>`;
  return html`${agents.map((a) => {
    const s = stats(a);
    return html`<tr data-agent="${a.id}">
<td class="wrap"><a href="${agentPath(a.id)}">${a.name}</a><br><code class="muted">${a.id}</code></td>
<td>${protocolWord(a.protocol)}${a.framework ? html`<br><span class="muted">${a.framework}</span>` : null}</td>
<td>${a.capabilities.map((c) => html`<span class="tag">${c}</span> `)}</td>
<td>${healthTag(a)}<br><span class="muted">${a.lastHealthCheckTime ? when(a.lastHealthCheckTime) : "never checked"}</span>${a.healthDetail ? html`<br><span class="muted wrap">${a.healthDetail}</span>` : null}</td>
<td>${s.successRate}<br><span class="muted">${s.total} task${s.total === 1 ? "" : "s"}</span></td>
<td>${s.latency}</td>
<td>${s.load}${s.circuit !== "closed" ? html`<br><span class="tag off">circuit ${s.circuit}</span>` : null}</td>
<td>${enabledTag(a)}</td>
</tr>`;
  })}`;
}

const HEALTHS = ["healthy", "degraded", "unhealthy"] as const;

interface AgentFilter {
  capability: string;
  protocol: string;
  health: string;
  enabledOnly: boolean;
  pageToken: string;
}

/** The list's filters from the query; unknown values are ignored rather than refused. */
function agentFilterOf(q: Fields): AgentFilter {
  const protocol = field(q, "protocol", 32);
  const health = field(q, "health", 32);
  return {
    capability: field(q, "capability", 64).toLowerCase(),
    protocol: PROTOCOLS.some(([, w]) => w === protocol) ? protocol : "",
    health: (HEALTHS as readonly string[]).includes(health) ? health : "",
    enabledOnly: field(q, "enabled_only", 3) === "yes",
    pageToken: field(q, "page_token", 200),
  };
}

const agentFilterQuery = (f: AgentFilter) => ({
  capability: f.capability || undefined,
  protocol: f.protocol || undefined,
  health: f.health || undefined,
  enabled_only: f.enabledOnly ? "yes" : undefined,
  page_token: f.pageToken || undefined,
});

interface AgentFormValues {
  id?: string;
  name?: string;
  description?: string;
  framework?: string;
  protocol?: string;
  endpoint?: string;
  capabilities?: string;
  tags?: string;
  maxConcurrent?: string;
  model?: string;
}

function valuesOf(a: Agent): AgentFormValues {
  const model = a.config?.model;
  return {
    id: a.id,
    name: a.name,
    description: a.description,
    framework: a.framework,
    protocol: protocolWord(a.protocol),
    endpoint: a.endpoint,
    capabilities: a.capabilities.join(", "),
    tags: a.tags.join(", "),
    maxConcurrent: String(a.maxConcurrentTasks),
    model: typeof model === "string" ? model : "",
  };
}

function formValues(form: Fields): AgentFormValues {
  return {
    id: field(form, "id", 128),
    name: field(form, "name", 200),
    description: field(form, "description", 4000),
    framework: field(form, "framework", 64),
    protocol: field(form, "protocol", 32),
    endpoint: field(form, "endpoint", 2000),
    capabilities: field(form, "capabilities", 2000),
    tags: field(form, "tags", 2000),
    maxConcurrent: field(form, "max_concurrent_tasks", 10),
    model: field(form, "model", 200),
  };
}

function maxConcurrent(v: string | undefined): number {
  if (!v) return 0;
  if (!/^\d{1,6}$/.test(v)) throw new ConnectError("agent.max_concurrent_tasks: must be a whole number between 1 and 1000", Code.InvalidArgument);
  return Number(v);
}

function protocolOf(v: string | undefined): AgentProtocol {
  const p = PROTOCOLS.find(([, w]) => w === v);
  if (!p) throw new ConnectError(`agent.protocol: choose one of ${PROTOCOLS.map(([, w]) => w).join(", ")}`, Code.InvalidArgument);
  return p[0];
}

/** The bearer token field: write-only, never filled in from what is stored. */
function tokenField(existing: boolean): Html {
  return html`<label for="bearer_token">Bearer token${existing ? " (a token is stored)" : ""}</label>
<input id="bearer_token" name="bearer_token" type="password" autocomplete="off" spellcheck="false">
<p class="muted">Sent as <code>Authorization: Bearer</code> when MeshAI calls the agent. Stored write-only: it is never shown again${existing ? "; leave empty to keep the stored one" : ""}.</p>
${existing ? html`<label class="check"><input type="checkbox" name="clear_credentials" value="yes"> Remove the stored credentials</label>` : null}`;
}

function agentFields(v: AgentFormValues, mode: "new" | "edit", builtin: boolean): Html {
  return html`${mode === "new"
    ? html`<label for="id">Id</label><input id="id" name="id" type="text" autocomplete="off" spellcheck="false" value="${v.id ?? ""}" placeholder="generated when empty">`
    : null}
<label for="name">Name</label><input id="name" name="name" type="text" required autocomplete="off" value="${v.name ?? ""}">
<label for="description">Description</label><textarea id="description" name="description" rows="3">${v.description ?? ""}</textarea>
<label for="framework">Framework</label><input id="framework" name="framework" type="text" autocomplete="off" value="${v.framework ?? ""}" placeholder="langchain, crewai, autogen, ...">
${builtin
  ? html`<p class="muted">A built-in agent runs inside MeshAI: it has no protocol or endpoint to change.</p>`
  : html`<label for="protocol">Protocol</label><select id="protocol" name="protocol" required>${PROTOCOLS.map(
      ([, w, label]) => html`<option value="${w}"${v.protocol === w ? html` selected` : null}>${label}</option>`,
    )}</select>
<label for="endpoint">Endpoint</label><input id="endpoint" name="endpoint" type="url" required autocomplete="off" spellcheck="false" value="${v.endpoint ?? ""}" placeholder="https://agent.example.com">`}
<label for="capabilities">Capabilities</label><input id="capabilities" name="capabilities" type="text" required autocomplete="off" spellcheck="false" value="${v.capabilities ?? ""}" placeholder="text_generation, code_generation">
<p class="muted">Comma- or space-separated: text_generation, code_generation, data_analysis, reasoning, image_generation, or your own.</p>
<label for="tags">Tags</label><input id="tags" name="tags" type="text" autocomplete="off" spellcheck="false" value="${v.tags ?? ""}">
<label for="max_concurrent_tasks">Max concurrent tasks</label><input id="max_concurrent_tasks" name="max_concurrent_tasks" type="number" min="1" max="1000" value="${v.maxConcurrent ?? "4"}">
<label for="model">Model</label><input id="model" name="model" type="text" autocomplete="off" spellcheck="false" value="${v.model ?? ""}" placeholder="for OpenAI-compatible agents, e.g. llama3.1">`;
}

/** Credentials from the form: a new bearer token, or none (keep what is stored). */
function credentialsOf(form: Fields) {
  const token = typeof form.bearer_token === "string" ? form.bearer_token.trim() : "";
  if (token.length > 4096) throw new ConnectError("credentials.bearer_token: must be at most 4096 characters", Code.InvalidArgument);
  return token ? { bearerToken: token } : undefined;
}

/**
 * Agents: the registry with health and live statistics; register from a form
 * or an A2A card URL, edit, enable/disable, check health now, delete (after a
 * confirm step). Each action is one MeshService RPC with the admin's token.
 */
export const agentConsole: ConsoleRoutes = (router: Router, { core }: RouteDeps, kit: ConsoleKit) => {
  /** Every page of the section carries its stylesheet. */
  const list = async (ctx: Context, f: AgentFilter) =>
    core.mesh.listAgents(
      {
        includeDisabled: !f.enabledOnly,
        capabilities: f.capability ? [f.capability] : [],
        protocol: f.protocol ? protocolOf(f.protocol) : AgentProtocol.UNSPECIFIED,
        health: f.health ? (AgentHealth as unknown as Record<string, AgentHealth>)[f.health.toUpperCase()] : AgentHealth.UNSPECIFIED,
        pageSize: PAGE_SIZE,
        pageToken: f.pageToken,
      },
      adminOf(ctx).call,
    );

  router.get("/admin/agents", kit.requireAdmin, async (ctx) => {
    const f = agentFilterOf(queryOf(ctx));
    const res = await list(ctx, f);
    const option = (value: string, label: string, current: string) => html`<option value="${value}"${value === current ? html` selected` : null}>${label}</option>`;
    const filtered = Boolean(f.capability || f.protocol || f.health || f.enabledOnly);
    kit.render(ctx, {
      title: "Agents",
      section: "agents",
      body: html`<h1>Agents</h1>
<div class="toolbar">
<a class="button" href="/admin/agents/new">Register agent</a>
<form class="filters" method="get" action="/admin/agents" aria-label="Filter agents">
<div><label for="capability">Capability</label><input id="capability" name="capability" type="text" value="${f.capability}" autocomplete="off" spellcheck="false"></div>
<div><label for="protocol">Protocol</label><select id="protocol" name="protocol">${option("", "any", f.protocol)}${PROTOCOLS.map(([, w]) => option(w, w, f.protocol))}</select></div>
<div><label for="health">Health</label><select id="health" name="health">${option("", "any", f.health)}${HEALTHS.map((h) => option(h, h, f.health))}</select></div>
<label class="check"><input type="checkbox" name="enabled_only" value="yes"${f.enabledOnly ? html` checked` : null}> Enabled only</label>
<button type="submit" class="secondary">Apply</button>
${filtered ? html`<a href="/admin/agents">Clear</a>` : null}
</form>
<a href="${link("/admin/agents", agentFilterQuery(f))}">Refresh</a>
<span class="muted" data-live-status>${res.totalSize} agent${res.totalSize === 1 ? "" : "s"}</span>
</div>
<div class="table-wrap"><table class="list">
<thead><tr><th>Agent</th><th>Protocol</th><th>Capabilities</th><th>Health</th><th>Success</th><th>Avg latency</th><th>Load</th><th>Status</th></tr></thead>
<tbody data-live-rows="${link("/admin/agents/rows", agentFilterQuery(f))}">${agentRows(res.agents, filtered)}</tbody>
</table></div>
${pager("/admin/agents", agentFilterQuery(f), res.nextPageToken)}
${liveScript()}`,
    });
  });

  // The list's rows alone, for the live script.
  router.get("/admin/agents/rows", kit.requireAdmin, async (ctx) => {
    const f = agentFilterOf(queryOf(ctx));
    const res = await list(ctx, f);
    ctx.set("Cache-Control", "no-store");
    ctx.type = "text/html; charset=utf-8";
    ctx.body = agentRows(res.agents, Boolean(f.capability || f.protocol || f.health || f.enabledOnly)).value;
  });

  const registerPage = (ctx: Context, v: AgentFormValues & { cardUrl?: string; error?: string; errorIn?: "form" | "card" } = {}, status = 200) =>
    kit.render(ctx, {
      title: "Register agent",
      section: "agents",
      status,
      body: html`<p><a href="/admin/agents">← Agents</a></p>
<h1>Register agent</h1>
<h2>From an A2A agent card</h2>
${v.error && v.errorIn === "card" ? html`<p class="alert" role="alert">${v.error}</p>` : null}
<form class="stack" method="post" action="/admin/agents" aria-label="Register from an agent card">
${kit.csrfField(ctx)}<input type="hidden" name="source" value="card">
<label for="card_url">Agent card URL</label><input id="card_url" name="card_url" type="url" required autocomplete="off" spellcheck="false" value="${v.cardUrl ?? ""}" placeholder="https://agent.example.com/.well-known/agent-card.json">
<p class="muted">Name, description and skills come from the card; fill these only to override it.</p>
<label for="card_id">Id</label><input id="card_id" name="id" type="text" autocomplete="off" spellcheck="false" value="${v.errorIn === "card" ? (v.id ?? "") : ""}" placeholder="generated when empty">
<label for="card_capabilities">Capabilities</label><input id="card_capabilities" name="capabilities" type="text" autocomplete="off" spellcheck="false" value="${v.errorIn === "card" ? (v.capabilities ?? "") : ""}" placeholder="from the card's skills when empty">
<label for="card_bearer_token">Bearer token</label><input id="card_bearer_token" name="bearer_token" type="password" autocomplete="off" spellcheck="false">
<div class="actions"><button type="submit">Import and register</button></div>
</form>
<h2>Described in full</h2>
${v.error && v.errorIn !== "card" ? html`<p class="alert" role="alert">${v.error}</p>` : null}
<form class="stack" method="post" action="/admin/agents" aria-label="Register an agent">
${kit.csrfField(ctx)}<input type="hidden" name="source" value="form">
${agentFields(v.errorIn === "card" ? {} : v, "new", false)}
${tokenField(false)}
<div class="actions"><button type="submit">Register agent</button><a class="button secondary" href="/admin/agents">Cancel</a></div>
</form>`,
    });

  router.get("/admin/agents/new", kit.requireAdmin, (ctx) => registerPage(ctx));

  router.post("/admin/agents", kit.requireAdmin, async (ctx) => {
    const form = kit.form(ctx);
    const fromCard = field(form, "source", 10) === "card";
    const v = formValues(form);
    const cardUrl = field(form, "card_url", 2000);
    try {
      const credentials = credentialsOf(form);
      const { agent } = fromCard
        ? await core.mesh.registerAgent({ cardUrl, agent: { id: v.id, capabilities: words(v.capabilities ?? "") }, credentials }, adminOf(ctx).call)
        : await core.mesh.registerAgent(
            {
              agent: {
                id: v.id,
                name: v.name,
                description: v.description,
                framework: v.framework,
                protocol: protocolOf(v.protocol),
                endpoint: v.endpoint,
                capabilities: words(v.capabilities ?? ""),
                tags: words(v.tags ?? ""),
                maxConcurrentTasks: maxConcurrent(v.maxConcurrent),
                ...(v.model ? { config: { model: v.model } } : {}),
              },
              credentials,
            },
            adminOf(ctx).call,
          );
      kit.done(ctx, agentPath(agent!.id), `Registered agent ${agent!.name} (${agent!.id}).`);
    } catch (e) {
      const err = ConnectError.from(e);
      if (!FIXABLE.has(err.code)) throw e;
      registerPage(ctx, { ...v, cardUrl, error: err.rawMessage, errorIn: fromCard ? "card" : "form" }, classifyError(err).status);
    }
  });

  const findAgent = async (ctx: Context): Promise<Agent> => {
    const { agent } = await core.mesh.getAgent({ id: String(ctx.params.id ?? "") }, adminOf(ctx).call);
    if (!agent) throw new ConnectError("agent: not found", Code.NotFound);
    return agent;
  };

  router.get("/admin/agents/:id", kit.requireAdmin, async (ctx) => {
    const a = await findAgent(ctx);
    const recent = (await core.mesh.listTasks({ agentId: a.id, pageSize: RECENT_TASKS }, adminOf(ctx).call)).tasks;
    const s = stats(a);
    const base = agentPath(a.id);
    const config = a.config && Object.keys(a.config).length ? JSON.stringify(a.config) : "";
    kit.render(ctx, {
      title: a.name,
      section: "agents",
      body: html`<p><a href="/admin/agents">← Agents</a></p>
<h1 class="wrap">${a.name}</h1>
${a.description ? html`<p>${a.description}</p>` : null}
<div class="inline-actions">
<a class="button" href="${base}/edit">Edit</a>
${buttonForm(ctx, kit, `${base}/check`, "Check health now", { className: "secondary" })}
${a.enabled
  ? buttonForm(ctx, kit, `${base}/enabled`, "Disable", { hidden: { enabled: "no" }, className: "danger" })
  : buttonForm(ctx, kit, `${base}/enabled`, "Enable", { hidden: { enabled: "yes" } })}
${buttonForm(ctx, kit, `${base}/delete`, "Delete", { className: "danger" })}
</div>
<dl class="facts">
<dt>Id</dt><dd><code>${a.id}</code></dd>
<dt>Status</dt><dd>${enabledTag(a)}</dd>
<dt>Protocol</dt><dd>${protocolWord(a.protocol)}</dd>
<dt>Endpoint</dt><dd class="wrap">${a.endpoint || "— (runs inside MeshAI)"}</dd>
<dt>Framework</dt><dd>${a.framework || "—"}</dd>
<dt>Capabilities</dt><dd>${a.capabilities.map((c) => html`<span class="tag">${c}</span> `)}</dd>
<dt>Tags</dt><dd>${a.tags.length ? a.tags.map((t) => html`<span class="tag">${t}</span> `) : "—"}</dd>
<dt>Max concurrent tasks</dt><dd>${a.maxConcurrentTasks}</dd>
<dt>Config</dt><dd>${config ? html`<code class="wrap">${config}</code>` : "—"}</dd>
<dt>Credentials</dt><dd>${a.hasCredentials ? "stored (never shown)" : "none"}</dd>
<dt>Health</dt><dd>${healthTag(a)} ${a.healthDetail ? html`<span class="wrap">${a.healthDetail}</span>` : null}</dd>
<dt>Last health check</dt><dd>${a.lastHealthCheckTime ? when(a.lastHealthCheckTime) : "never"}</dd>
<dt>Tasks</dt><dd>${s.total} (success rate ${s.successRate})</dd>
<dt>Avg latency</dt><dd>${s.latency}</dd>
<dt>Load now</dt><dd>${s.load} running</dd>
<dt>Circuit breaker</dt><dd>${s.circuit}</dd>
<dt>Registered</dt><dd>${when(a.createTime)}</dd>
<dt>Updated</dt><dd>${when(a.updateTime)}</dd>
</dl>
<h2>Recent tasks</h2>
<div class="table-wrap"><table class="list">
<thead><tr><th>Task</th><th>State</th><th>Created</th><th>Ended</th></tr></thead>
<tbody>${recent.length
  ? recent.map(
      (t) => html`<tr data-task="${t.id}"><td class="wrap"><a href="/admin/tasks/${encodeURIComponent(t.id)}"><code>${t.id}</code></a><br><span class="muted">${t.input.length > 80 ? `${t.input.slice(0, 79)}…` : t.input}</span></td><td><span class="tag${t.state === TaskState.COMPLETED ? " on" : t.state === TaskState.FAILED || t.state === TaskState.CANCELLED ? " off" : ""}">${TaskState[t.state]?.toLowerCase()}</span></td><td>${when(t.createTime)}</td><td>${t.endTime ? when(t.endTime) : "—"}</td></tr>`,
    )
  : html`<tr><td colspan="4" class="empty">No task has been routed to this agent yet.</td></tr>`}</tbody>
</table></div>
<p><a href="${link("/admin/tasks", { agent: a.id })}">All tasks of ${a.name}</a></p>
<p class="muted">CLI: <code>meshai agent show ${a.id}</code>, <code>meshai task list --agent ${a.id}</code></p>`,
    });
  });

  const editPage = (ctx: Context, a: Agent, v: AgentFormValues, error?: string, status = 200) => {
    const builtin = a.protocol === AgentProtocol.BUILTIN;
    kit.render(ctx, {
      title: `Edit ${a.name}`,
      section: "agents",
      status,
      body: html`<p><a href="${agentPath(a.id)}">← ${a.name}</a></p>
<h1 class="wrap">Edit ${a.name}</h1>
${error ? html`<p class="alert" role="alert">${error}</p>` : null}
<form class="stack" method="post" action="${agentPath(a.id)}" aria-label="Edit agent">
${kit.csrfField(ctx)}
${agentFields(v, "edit", builtin)}
${tokenField(a.hasCredentials)}
<div class="actions"><button type="submit">Save</button><a class="button secondary" href="${agentPath(a.id)}">Cancel</a></div>
</form>`,
    });
  };

  router.get("/admin/agents/:id/edit", kit.requireAdmin, async (ctx) => {
    const a = await findAgent(ctx);
    editPage(ctx, a, valuesOf(a));
  });

  router.post("/admin/agents/:id", kit.requireAdmin, async (ctx) => {
    const form = kit.form(ctx);
    const a = await findAgent(ctx);
    const builtin = a.protocol === AgentProtocol.BUILTIN;
    const v = formValues(form);
    try {
      // The model is one key of the protocol settings: the other keys stay.
      const config: Record<string, unknown> = { ...(a.config ?? {}) };
      if (v.model) config.model = v.model;
      else delete config.model;
      const paths = ["name", "description", "framework", "capabilities", "tags", "max_concurrent_tasks", "config", ...(builtin ? [] : ["protocol", "endpoint"])];
      const credentials = credentialsOf(form);
      const { agent } = await core.mesh.updateAgent(
        {
          agent: {
            id: a.id,
            name: v.name,
            description: v.description,
            framework: v.framework,
            capabilities: words(v.capabilities ?? ""),
            tags: words(v.tags ?? ""),
            maxConcurrentTasks: maxConcurrent(v.maxConcurrent) || a.maxConcurrentTasks,
            config: config as Agent["config"],
            ...(builtin ? {} : { protocol: protocolOf(v.protocol), endpoint: v.endpoint }),
          },
          updateMask: { paths },
          credentials,
          clearCredentials: !credentials && form.clear_credentials === "yes",
        },
        adminOf(ctx).call,
      );
      kit.done(ctx, agentPath(a.id), `Saved agent ${agent!.name}.`);
    } catch (e) {
      const err = ConnectError.from(e);
      if (!FIXABLE.has(err.code)) throw e;
      editPage(ctx, a, v, err.rawMessage, classifyError(err).status);
    }
  });

  router.post("/admin/agents/:id/enabled", kit.requireAdmin, async (ctx) => {
    const form = kit.form(ctx);
    const enabled = field(form, "enabled", 3) === "yes";
    const id = String(ctx.params.id ?? "");
    const { agent } = await core.mesh.updateAgent({ agent: { id, enabled }, updateMask: { paths: ["enabled"] } }, adminOf(ctx).call);
    kit.done(ctx, agentPath(id), enabled ? `Enabled ${agent!.name}: tasks are routed to it again.` : `Disabled ${agent!.name}: no new task is routed to it.`);
  });

  router.post("/admin/agents/:id/check", kit.requireAdmin, async (ctx) => {
    kit.form(ctx);
    const { agent } = await core.mesh.checkAgentHealth({ id: String(ctx.params.id ?? "") }, adminOf(ctx).call);
    const a = agent!;
    kit.done(ctx, agentPath(a.id), `Health check of ${a.name}: ${healthWord(a.health)}${a.healthDetail ? ` (${a.healthDetail})` : ""}.`);
  });

  router.post("/admin/agents/:id/delete", kit.requireAdmin, async (ctx) => {
    const form = kit.form(ctx);
    const a = await findAgent(ctx);
    if (!confirmed(form)) {
      return confirmStep(ctx, kit, {
        section: "agents",
        title: `Delete ${a.name}?`,
        message: `${a.name} (${a.id}) leaves the registry for good, with its statistics and stored credentials; tasks it already ran keep their history.${a.protocol === AgentProtocol.BUILTIN ? " A built-in agent is registered again at the next start: disable it instead to keep it out." : " To only stop routing tasks to it, disable it instead."}`,
        action: `${agentPath(a.id)}/delete`,
        button: "Delete agent",
        cancel: agentPath(a.id),
      });
    }
    await core.mesh.deleteAgent({ id: a.id }, adminOf(ctx).call);
    kit.done(ctx, "/admin/agents", `Deleted agent ${a.name} (${a.id}).`);
  });
};

import { Code, ConnectError } from "@connectrpc/connect";
import type { Router } from "@koa/router";
import type { Context } from "koa";
import { type Task, TaskKind, TaskState } from "../../../gen/meshai/v1/mesh_pb.js";
import type { RouteDeps } from "../app.js";
import { isTerminalState, taskStateName } from "../mcp/views.js";
import { type Html, html } from "../pages/html.js";
import { when } from "./frame.js";
import { adminOf, type ConsoleKit, type ConsoleRoutes } from "./kit.js";
import { liveScript } from "./assets.js";
import { eventRow, eventView, liveRoutes } from "./live.js";
import { type Fields, field, link, pager } from "./widgets.js";
import { queryOf } from "../oauth/params.js";

const PAGE_SIZE = 50;
const STATES = ["pending", "routing", "executing", "completed", "failed", "cancelled"] as const;
/** Owner ids are user ids (or client ids): their emails are looked up once in a while, not on every refresh. */
const OWNER_TTL_MS = 5 * 60_000;
const MAX_OWNERS = 5_000;

const taskPath = (id: string) => `/admin/tasks/${encodeURIComponent(id)}`;
const kindWord = (k: TaskKind) => (k === TaskKind.WORKFLOW ? "workflow" : "task");

function stateTag(state: TaskState, live = false): Html {
  const s = taskStateName(state);
  const cls = s === "completed" ? "tag on" : s === "failed" || s === "cancelled" ? "tag off" : "tag";
  return html`<span class="${cls}"${live ? html` data-task-state="${s}"` : null}>${s}</span>`;
}

function short(text: string, max = 80): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

interface ListFilter {
  state: string;
  kind: string;
  agent: string;
  pageToken: string;
}

function filterOf(q: Fields): ListFilter {
  const state = field(q, "state", 20);
  const kind = field(q, "kind", 20);
  return {
    state: (STATES as readonly string[]).includes(state) ? state : "",
    kind: kind === "task" || kind === "workflow" ? kind : "",
    agent: field(q, "agent", 128),
    pageToken: field(q, "page_token", 200),
  };
}

const filterQuery = (f: ListFilter) => ({ state: f.state || undefined, kind: f.kind || undefined, agent: f.agent || undefined, page_token: f.pageToken || undefined });

/**
 * Tasks and workflows: a live list (state and kind filters; the rows are
 * re-fetched every few seconds by the console script, or by reloading) and a
 * detail page whose events stream in over SSE as they are stored, with a
 * workflow's steps and a cancel button. ListTasks, GetTask, WatchTask and
 * CancelTask with the admin's token (admins see every user's tasks).
 */
export const taskConsole: ConsoleRoutes = (router: Router, deps: RouteDeps, kit: ConsoleKit) => {
  const { core } = deps;
  /** Every page of the section carries its stylesheet. */
  const owners = new Map<string, { name: string; until: number }>();

  async function ownerName(ctx: Context, subject: string): Promise<string> {
    const hit = owners.get(subject);
    if (hit && hit.until > Date.now()) return hit.name;
    let name = subject;
    try {
      name = (await core.auth.getUser({ user: subject }, adminOf(ctx).call)).user?.email ?? subject;
    } catch (e) {
      // A client_credentials task belongs to a client, not a user.
      if (ConnectError.from(e).code !== Code.NotFound) throw e;
    }
    if (owners.size >= MAX_OWNERS) owners.delete(owners.keys().next().value!);
    owners.set(subject, { name, until: Date.now() + OWNER_TTL_MS });
    return name;
  }

  async function rows(ctx: Context, tasks: Task[], empty: string, withOwner = true): Promise<Html> {
    if (!tasks.length) return html`<tr><td colspan="7" class="empty">${empty}</td></tr>`;
    const unique = withOwner ? [...new Set(tasks.map((t) => t.owner))] : [];
    const byOwner = new Map(unique.map((o, i) => [o, i]));
    const looked = await Promise.all(unique.map((o) => ownerName(ctx, o)));
    const names = tasks.map((t) => looked[byOwner.get(t.owner) ?? -1] ?? t.owner);
    return html`${tasks.map(
      (t, i) => html`<tr data-task="${t.id}">
<td class="wrap"><a href="${taskPath(t.id)}"><code>${t.id}</code></a>${withOwner && t.parentId ? html` <span class="muted">step of <a href="${taskPath(t.parentId)}">${t.parentId}</a></span>` : null}<br><span class="muted">${short(t.input)}</span></td>
<td>${kindWord(t.kind)}</td>
<td>${stateTag(t.state)}</td>
<td>${t.agentId ? html`<a href="/admin/agents/${encodeURIComponent(t.agentId)}">${t.agentId}</a>` : "—"}</td>
${withOwner ? html`<td class="wrap">${names[i]}</td>` : null}
<td>${when(t.createTime)}</td>
<td>${t.endTime ? when(t.endTime) : "—"}</td>
</tr>`,
    )}`;
  }

  const list = (ctx: Context, f: ListFilter) =>
    core.mesh.listTasks(
      {
        state: f.state ? (TaskState as unknown as Record<string, TaskState>)[f.state.toUpperCase()] : TaskState.UNSPECIFIED,
        kind: f.kind === "workflow" ? TaskKind.WORKFLOW : f.kind === "task" ? TaskKind.TASK : TaskKind.UNSPECIFIED,
        agentId: f.agent,
        pageSize: PAGE_SIZE,
        pageToken: f.pageToken,
      },
      adminOf(ctx).call,
    );

  const emptyText = (f: ListFilter) => (f.state || f.kind || f.agent ? "No task matches these filters." : "No tasks yet.");

  router.get("/admin/tasks", kit.requireAdmin, async (ctx) => {
    const f = filterOf(queryOf(ctx));
    const res = await list(ctx, f);
    const option = (value: string, label: string, current: string) => html`<option value="${value}"${value === current ? html` selected` : null}>${label}</option>`;
    kit.render(ctx, {
      title: "Tasks & workflows",
      section: "tasks",
      body: html`<h1>Tasks &amp; workflows</h1>
<div class="toolbar">
<form class="filters" method="get" action="/admin/tasks" aria-label="Filter tasks">
<div><label for="state">State</label><select id="state" name="state">${option("", "any", f.state)}${STATES.map((s) => option(s, s, f.state))}</select></div>
<div><label for="kind">Kind</label><select id="kind" name="kind">${option("", "tasks and workflows", f.kind)}${option("task", "tasks", f.kind)}${option("workflow", "workflows", f.kind)}</select></div>
<div><label for="agent">Agent id</label><input id="agent" name="agent" type="text" value="${f.agent}" autocomplete="off" spellcheck="false"></div>
<button type="submit" class="secondary">Apply</button>
${f.state || f.kind || f.agent ? html`<a href="/admin/tasks">Clear</a>` : null}
</form>
<a href="${link("/admin/tasks", filterQuery(f))}">Refresh</a>
<span class="muted" data-live-status>Newest first</span>
</div>
<div class="table-wrap"><table class="list">
<thead><tr><th>Task</th><th>Kind</th><th>State</th><th>Agent</th><th>Owner</th><th>Created</th><th>Ended</th></tr></thead>
<tbody data-live-rows="${link("/admin/tasks/rows", filterQuery(f))}">${await rows(ctx, res.tasks, emptyText(f))}</tbody>
</table></div>
${pager("/admin/tasks", filterQuery(f), res.nextPageToken)}
<p class="muted">CLI: <code>meshai task list${f.state ? ` --state ${f.state}` : ""}${f.kind ? ` --kind ${f.kind}` : ""}${f.agent ? ` --agent ${f.agent}` : ""}</code></p>
${liveScript()}`,
    });
  });

  // The list's rows alone, for the live script.
  router.get("/admin/tasks/rows", kit.requireAdmin, async (ctx) => {
    const f = filterOf(queryOf(ctx));
    const res = await list(ctx, f);
    ctx.set("Cache-Control", "no-store");
    ctx.type = "text/html; charset=utf-8";
    ctx.body = (await rows(ctx, res.tasks, emptyText(f))).value;
  });

  liveRoutes(router, deps, kit);

  const steps = async (ctx: Context, workflowId: string) =>
    (await core.mesh.listTasks({ parentId: workflowId, pageSize: 200 }, adminOf(ctx).call)).tasks;

  const stepRows = (ctx: Context, tasks: Task[]) => rows(ctx, tasks, "No step has started yet.", false);

  router.get("/admin/tasks/:id/steps", kit.requireAdmin, async (ctx) => {
    const id = String(ctx.params.id ?? "");
    await core.mesh.getTask({ id }, adminOf(ctx).call);
    ctx.set("Cache-Control", "no-store");
    ctx.type = "text/html; charset=utf-8";
    ctx.body = (await stepRows(ctx, await steps(ctx, id))).value;
  });

  router.get("/admin/tasks/:id", kit.requireAdmin, async (ctx) => {
    const id = String(ctx.params.id ?? "");
    const call = adminOf(ctx).call;
    const { task } = await core.mesh.getTask({ id }, call);
    if (!task) throw new ConnectError(`task ${id} not found`, Code.NotFound);
    // The events stored so far (up to the seq GetTask saw); the script follows the rest live.
    const events = [];
    const lastSeq = Number(task.lastSeq);
    if (lastSeq > 0) {
      const stop = new AbortController();
      try {
        for await (const r of core.mesh.watchTask({ id }, { ...call, signal: stop.signal })) {
          if (r.event) events.push(eventView(r.event));
          if (Number(r.event?.seq ?? 0) >= lastSeq) break;
        }
      } finally {
        stop.abort();
      }
    }
    const seenSeq = events.length ? events[events.length - 1]!.seq : 0;
    const running = !isTerminalState(task.state);
    const workflow = task.kind === TaskKind.WORKFLOW;
    const stepList = workflow ? await steps(ctx, id) : [];
    const output = task.output || (running ? events.filter((e) => e.type === "output").map((e) => e.output).join("") : "");
    kit.render(ctx, {
      title: `${kindWord(task.kind)} ${task.id}`,
      section: "tasks",
      body: html`<p><a href="/admin/tasks">← Tasks &amp; workflows</a>${task.parentId ? html` · <a href="${taskPath(task.parentId)}">workflow ${task.parentId}</a>` : null}</p>
<h1 class="wrap">${workflow ? "Workflow" : "Task"} <code>${task.id}</code> ${stateTag(task.state, true)}</h1>
${running
  ? html`<form class="inline-actions" method="post" action="${taskPath(task.id)}/cancel" data-cancel-form aria-label="Cancel">
${kit.csrfField(ctx)}
<label for="reason" class="visually-hidden">Reason</label><input id="reason" name="reason" type="text" maxlength="500" placeholder="reason (optional)" autocomplete="off">
<button type="submit" class="danger">Cancel ${workflow ? "workflow" : "task"}</button>
</form>`
  : null}
<dl class="facts">
<dt>Owner</dt><dd class="wrap">${await ownerName(ctx, task.owner)}</dd>
${workflow ? html`<dt>Workflow type</dt><dd>${task.input}</dd>` : html`<dt>Agent</dt><dd>${task.agentId ? html`<a href="/admin/agents/${encodeURIComponent(task.agentId)}">${task.agentId}</a>` : "—"}</dd>`}
<dt>Capabilities</dt><dd>${task.capabilities.length ? task.capabilities.map((c) => html`<span class="tag">${c}</span> `) : "—"}</dd>
<dt>Created</dt><dd>${when(task.createTime)}</dd>
<dt>Updated</dt><dd>${when(task.updateTime)}</dd>
<dt>Ended</dt><dd data-task-ended>${task.endTime ? when(task.endTime) : "—"}</dd>
${task.error ? html`<dt>Error</dt><dd class="wrap">${task.error}</dd>` : null}
</dl>
${workflow ? null : html`<h2>Input</h2><pre class="wrap">${task.input}</pre>`}
<h2>Output</h2>
<pre class="wrap" data-task-output>${output}</pre>
${workflow
  ? html`<h2>Steps</h2>
<div class="table-wrap"><table class="list">
<thead><tr><th>Step task</th><th>Kind</th><th>State</th><th>Agent</th><th>Created</th><th>Ended</th></tr></thead>
<tbody data-steps="${taskPath(task.id)}/steps">${await stepRows(ctx, stepList)}</tbody>
</table></div>`
  : null}
<h2>Events</h2>
<p class="muted" data-live-status>${running ? "Reload to see new events (live updates need JavaScript)." : "The task has ended."}</p>
<div class="table-wrap"><table class="list"${running ? html` data-event-source="${taskPath(task.id)}/events?after=${seenSeq}"` : null}>
<thead><tr><th>Seq</th><th>Time (UTC)</th><th>Event</th><th>State</th><th>About</th><th>Message</th><th>Output</th></tr></thead>
<tbody>${events.length ? events.map(eventRow) : html`<tr class="empty-row"><td colspan="7" class="empty">No events yet.</td></tr>`}</tbody>
</table></div>
<p class="muted">CLI: <code>meshai task ${running ? "watch" : "show"} ${task.id}</code></p>
${running ? liveScript() : null}`,
    });
  });

  router.post("/admin/tasks/:id/cancel", kit.requireAdmin, async (ctx) => {
    const form = kit.form(ctx);
    const id = String(ctx.params.id ?? "");
    const reason = field(form, "reason", 500);
    const admin = adminOf(ctx);
    const { task } = await core.mesh.cancelTask({ id, reason: reason || `cancelled by ${admin.user.email} in the admin console` }, admin.call);
    const state = task ? taskStateName(task.state) : "cancelled";
    kit.done(ctx, taskPath(id), state === "cancelled" ? `Cancelled ${id}.` : `${id} had already ended (${state}).`);
  });
};

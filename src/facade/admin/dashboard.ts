import type { Router } from "@koa/router";
import { TaskState } from "../../../gen/meshai/v1/mesh_pb.js";
import type { RouteDeps } from "../app.js";
import { html } from "../pages/html.js";
import type { ConsoleFrame } from "./frame.js";
import { adminOf } from "./kit.js";

/** Counts shown on the dashboard stop at one page: past it the card says "200+". */
const COUNT_PAGE = 200;

function shown(n: number, more: boolean): string {
  return more ? `${n}+` : String(n);
}

/** GET /admin: what there is (users, clients, grants, agents, running tasks), each a link to its section. */
export function dashboardConsole(router: Router, { core }: RouteDeps, frame: ConsoleFrame): void {
  router.get("/admin", frame.requireAdmin, async (ctx) => {
    const { call, user } = adminOf(ctx);
    const page = { pageSize: COUNT_PAGE };
    // Each count is its section's own listing RPC; one that fails shows "?" rather than hiding the others.
    const settle = <T,>(p: Promise<T>) => p.then((v) => v, () => undefined);
    const [users, clients, grants, agents, running] = await Promise.all([
      settle(core.auth.listUsers(page, call)),
      settle(core.auth.listClients(page, call)),
      settle(core.auth.listGrants(page, call)),
      settle(core.mesh.listAgents({ pageSize: COUNT_PAGE }, call)),
      settle(core.mesh.listTasks({ state: TaskState.EXECUTING, pageSize: COUNT_PAGE }, call)),
    ]);
    const cards = [
      { href: "/admin/users", label: "Users", count: users ? shown(users.users.length, !!users.nextPageToken) : "?" },
      { href: "/admin/clients", label: "OAuth clients", count: clients ? shown(clients.clients.length, !!clients.nextPageToken) : "?" },
      { href: "/admin/grants", label: "Active grants", count: grants ? shown(grants.grants.length, !!grants.nextPageToken) : "?" },
      { href: "/admin/agents", label: "Agents", count: agents ? String(agents.totalSize || agents.agents.length) : "?" },
      { href: "/admin/tasks", label: "Running tasks", count: running ? shown(running.tasks.length, !!running.nextPageToken) : "?" },
    ];
    frame.page(ctx, {
      title: "Dashboard",
      section: "dashboard",
      body: html`<h1>Dashboard</h1>
<p class="muted">Signed in as ${user.name || user.email}. Every action here is also a <code>meshai</code> command and an RPC: see <a href="/docs/admin">the console guide</a>.</p>
<div class="cards">${cards.map((c) => html`<a href="${c.href}"><span class="count">${c.count}</span>${c.label}</a>`)}</div>`,
    });
  });
}

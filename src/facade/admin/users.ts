import { Code, ConnectError } from "@connectrpc/connect";
import type { Router } from "@koa/router";
import type { Context } from "koa";
import type { User } from "../../../gen/meshai/v1/auth_pb.js";
import type { RouteDeps } from "../app.js";
import { classifyError } from "../errors.js";
import { type Html, html } from "../pages/html.js";
import { type ConsoleFrame, when } from "./frame.js";
import { adminOf } from "./kit.js";
import { buttonForm, confirmStep, confirmed, field, link, pager } from "./widgets.js";
import { queryOf } from "../oauth/params.js";

const PAGE_SIZE = 25;
/** Mistakes in a form the admin can correct on the same form. */
const FIXABLE = new Set([Code.InvalidArgument, Code.AlreadyExists]);

function status(u: User): Html {
  return html`${u.disabled ? html`<span class="tag off">disabled</span>` : html`<span class="tag on">active</span>`}${u.admin ? html` <span class="tag">admin</span>` : null}`;
}

const userPath = (u: Pick<User, "id">) => `/admin/users/${encodeURIComponent(u.id)}`;

/**
 * Users: list (search, paging), create, and on a user's page disable or
 * enable, reset the password, grant or remove admin. Each action is one
 * AuthService RPC (CreateUser, UpdateUser, SetPassword) with the admin's
 * console token; disabling and removing admin are confirmed first.
 */
export function userConsole(router: Router, { core }: RouteDeps, kit: ConsoleFrame): void {
  router.get("/admin/users", kit.requireAdmin, async (ctx) => {
    const q = queryOf(ctx);
    const query = field(q, "query", 200);
    const pageToken = field(q, "page_token", 200);
    const res = await core.auth.listUsers({ query, pageToken, pageSize: PAGE_SIZE }, adminOf(ctx).call);
    kit.render(ctx, {
      title: "Users",
      section: "users",
      body: html`<h1>Users</h1>
<div class="toolbar">
<form class="filters" method="get" action="/admin/users" role="search">
<div><label for="query">Search email or name</label><input id="query" name="query" type="search" value="${query}"></div>
<button type="submit" class="secondary">Search</button>
${query ? html`<a href="/admin/users">Clear</a>` : null}
</form>
<a class="button" href="/admin/users/new">Create user</a>
</div>
<div class="table-wrap"><table class="list">
<thead><tr><th>Email</th><th>Name</th><th>Status</th><th>Last sign-in</th><th>Created</th></tr></thead>
<tbody>${res.users.length
  ? res.users.map(
      (u) => html`<tr><td class="wrap"><a href="${userPath(u)}">${u.email}</a></td><td>${u.name}</td><td>${status(u)}</td><td>${when(u.lastLoginTime)}</td><td>${when(u.createTime)}</td></tr>`,
    )
  : html`<tr><td colspan="5" class="empty">${query ? "No user matches that search." : "No users yet."}</td></tr>`}</tbody>
</table></div>
${pager("/admin/users", { query, page_token: pageToken }, res.nextPageToken)}`,
    });
  });

  const createForm = (ctx: Context, values: { email?: string; name?: string; admin?: boolean; error?: string } = {}, statusCode = 200) =>
    kit.render(ctx, {
      title: "Create user",
      section: "users",
      status: statusCode,
      body: html`<h1>Create user</h1>
${values.error ? html`<p class="alert" role="alert">${values.error}</p>` : null}
<form class="stack" method="post" action="/admin/users">
${kit.csrfField(ctx)}
<label for="email">Email</label><input id="email" name="email" type="email" required autocomplete="off" value="${values.email ?? ""}">
<label for="name">Name</label><input id="name" name="name" type="text" autocomplete="off" value="${values.name ?? ""}">
<label for="password">Password</label><input id="password" name="password" type="password" required minlength="8" autocomplete="new-password">
<p class="muted">At least 8 characters. Give it to the person over a channel you trust; they cannot change it themselves yet.</p>
<label class="check"><input type="checkbox" name="admin" value="yes"${values.admin ? html` checked` : null}> Administrator (may use this console and hold mcp:manage)</label>
<div class="actions"><button type="submit">Create user</button><a class="button secondary" href="/admin/users">Cancel</a></div>
</form>`,
    });

  router.get("/admin/users/new", kit.requireAdmin, (ctx) => createForm(ctx));

  router.post("/admin/users", kit.requireAdmin, async (ctx) => {
    const form = kit.form(ctx);
    const email = field(form, "email", 320);
    const name = field(form, "name", 200);
    const admin = form.admin === "yes";
    const password = typeof form.password === "string" ? form.password : "";
    try {
      const { user } = await core.auth.createUser({ email, name, password, admin }, adminOf(ctx).call);
      kit.done(ctx, userPath(user!), `Created ${admin ? "administrator" : "user"} ${user!.email}.`);
    } catch (e) {
      const err = ConnectError.from(e);
      if (!FIXABLE.has(err.code)) throw e;
      createForm(ctx, { email, name, admin, error: err.rawMessage }, classifyError(err).status);
    }
  });

  const findUser = async (ctx: Context): Promise<User> => {
    const { user } = await core.auth.getUser({ user: String(ctx.params.id ?? "") }, adminOf(ctx).call);
    if (!user) throw new ConnectError("user: not found", Code.NotFound);
    return user;
  };

  router.get("/admin/users/:id", kit.requireAdmin, async (ctx) => {
    const u = await findUser(ctx);
    const self = u.id === adminOf(ctx).user.id;
    const base = userPath(u);
    kit.render(ctx, {
      title: u.email,
      section: "users",
      body: html`<p><a href="/admin/users">← Users</a></p>
<h1 class="wrap">${u.email}</h1>
<dl class="facts">
<dt>Name</dt><dd>${u.name || "—"}</dd>
<dt>Status</dt><dd>${status(u)}</dd>
<dt>User id</dt><dd><code>${u.id}</code></dd>
<dt>Created</dt><dd>${when(u.createTime)}</dd>
<dt>Updated</dt><dd>${when(u.updateTime)}</dd>
<dt>Last sign-in</dt><dd>${when(u.lastLoginTime)}</dd>
</dl>
<p><a href="${link("/admin/grants", { user: u.email })}">Apps this user allowed (grants and tokens)</a></p>
<h2>Account</h2>
<div class="inline-actions">
${u.disabled
  ? buttonForm(ctx, kit, `${base}/enable`, "Enable account")
  : buttonForm(ctx, kit, `${base}/disable`, "Disable account", { className: "danger" })}
${u.admin
  ? buttonForm(ctx, kit, `${base}/admin`, "Remove admin", { hidden: { admin: "no" }, className: "danger" })
  : buttonForm(ctx, kit, `${base}/admin`, "Make administrator", { hidden: { admin: "yes" } })}
</div>
${self ? html`<p class="muted">This is your own account: disabling it or removing its admin flag ends your console access.</p>` : null}
<h2>Reset password</h2>
<form class="stack" method="post" action="${base}/password">
${kit.csrfField(ctx)}
<label for="password">New password</label><input id="password" name="password" type="password" required minlength="8" autocomplete="new-password">
<p class="muted">Signs the user out of every browser; apps they allowed keep their tokens (revoke those under grants).</p>
<div class="actions"><button type="submit">Reset password</button></div>
</form>`,
    });
  });

  router.post("/admin/users/:id/disable", kit.requireAdmin, async (ctx) => {
    const form = kit.form(ctx);
    const u = await findUser(ctx);
    if (!confirmed(form)) {
      return confirmStep(ctx, kit, {
        section: "users",
        title: `Disable ${u.email}?`,
        message: `${u.email} will be signed out everywhere at once: their browser sessions end and every access token and refresh token they hold stops working${u.id === adminOf(ctx).user.id ? ". This is your own account: you will lose access to this console" : ""}.`,
        action: `${userPath(u)}/disable`,
        button: "Disable account",
        cancel: userPath(u),
      });
    }
    await core.auth.updateUser({ user: u.id, disabled: true }, adminOf(ctx).call);
    kit.done(ctx, userPath(u), `Disabled ${u.email}: their sessions and tokens no longer work.`);
  });

  router.post("/admin/users/:id/enable", kit.requireAdmin, async (ctx) => {
    kit.form(ctx);
    const u = await findUser(ctx);
    await core.auth.updateUser({ user: u.id, disabled: false }, adminOf(ctx).call);
    kit.done(ctx, userPath(u), `Enabled ${u.email}.`);
  });

  router.post("/admin/users/:id/admin", kit.requireAdmin, async (ctx) => {
    const form = kit.form(ctx);
    const want = field(form, "admin");
    if (want !== "yes" && want !== "no") throw new ConnectError("admin: must be yes or no", Code.InvalidArgument);
    const u = await findUser(ctx);
    if (!confirmed(form)) {
      const self = u.id === adminOf(ctx).user.id;
      return confirmStep(ctx, kit, {
        section: "users",
        title: want === "yes" ? `Make ${u.email} an administrator?` : `Remove admin from ${u.email}?`,
        message:
          want === "yes"
            ? `${u.email} will be able to use this console and hold mcp:manage: manage users, OAuth clients, grants and agents.`
            : `${u.email} loses this console and mcp:manage at once${self ? ". This is your own account: you will lose access to this console" : ""}.`,
        action: `${userPath(u)}/admin`,
        button: want === "yes" ? "Make administrator" : "Remove admin",
        cancel: userPath(u),
        hidden: { admin: want },
      });
    }
    await core.auth.updateUser({ user: u.id, admin: want === "yes" }, adminOf(ctx).call);
    kit.done(ctx, userPath(u), want === "yes" ? `${u.email} is now an administrator.` : `${u.email} is no longer an administrator.`);
  });

  router.post("/admin/users/:id/password", kit.requireAdmin, async (ctx) => {
    const form = kit.form(ctx);
    const password = typeof form.password === "string" ? form.password : "";
    const u = await findUser(ctx);
    await core.auth.setPassword({ user: u.id, password }, adminOf(ctx).call);
    kit.done(ctx, userPath(u), `Password of ${u.email} reset; they were signed out of every browser.`);
  });
}

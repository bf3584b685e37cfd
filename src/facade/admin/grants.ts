import { Code, ConnectError } from "@connectrpc/connect";
import type { Router } from "@koa/router";
import type { RouteDeps } from "../app.js";
import { html } from "../pages/html.js";
import { type ConsoleFrame, when } from "./frame.js";
import { adminOf } from "./kit.js";
import { buttonForm, confirmStep, confirmed, field, link, pager } from "./widgets.js";
import { queryOf } from "../oauth/params.js";

const PAGE_SIZE = 50;

/**
 * Grants and tokens: every live grant (a user's approval of a client) with
 * its live refresh tokens and last use, filtered by user and client; revoke
 * one, all of a user's, or all of a client's. RevokeGrant revokes the grant's
 * codes, refresh tokens and access tokens in one step, and the token verifier
 * checks revocation on every call, so the next MCP or gRPC call fails.
 */
export function grantConsole(router: Router, { core }: RouteDeps, kit: ConsoleFrame): void {
  router.get("/admin/grants", kit.requireAdmin, async (ctx) => {
    const q = queryOf(ctx);
    const user = field(q, "user", 320);
    const clientId = field(q, "client_id", 2048);
    const pageToken = field(q, "page_token", 200);
    let res;
    let notice = "";
    try {
      res = await core.auth.listGrants({ user, clientId, pageToken, pageSize: PAGE_SIZE }, adminOf(ctx).call);
    } catch (e) {
      // A filter naming nobody is an empty result with a word why, not an error page.
      if (!(e instanceof ConnectError && e.code === Code.NotFound && user)) throw e;
      res = { grants: [], nextPageToken: "" };
      notice = e.rawMessage;
    }
    const here = link("/admin/grants", { user, client_id: clientId });
    kit.render(ctx, {
      title: "Grants & tokens",
      section: "grants",
      body: html`<h1>Grants &amp; tokens</h1>
<p class="muted">A grant is a user's approval of an OAuth client. Revoking it ends the client's access at once: its refresh tokens and access tokens stop working on the next call.</p>
<form class="filters" method="get" action="/admin/grants">
<div><label for="user">User (email or id)</label><input id="user" name="user" type="text" value="${user}"></div>
<div><label for="client_id">Client id</label><input id="client_id" name="client_id" type="text" value="${clientId}"></div>
<button type="submit" class="secondary">Filter</button>
${user || clientId ? html`<a href="/admin/grants">Clear</a>` : null}
</form>
${notice ? html`<p class="alert" role="alert">${notice}</p>` : null}
${(user || clientId) && !notice
  ? html`<div class="inline-actions">${user
      ? buttonForm(ctx, kit, "/admin/grants/revoke-all", `Revoke all grants of ${user}`, { hidden: { user }, className: "danger" })
      : null}${clientId
      ? buttonForm(ctx, kit, "/admin/grants/revoke-all", "Revoke all grants to this client", { hidden: { client_id: clientId }, className: "danger" })
      : null}</div>`
  : null}
<div class="table-wrap"><table class="list">
<thead><tr><th>User</th><th>Client</th><th>Scope</th><th>Live refresh tokens</th><th>Last used</th><th>Granted</th><th></th></tr></thead>
<tbody>${res.grants.length
  ? res.grants.map(
      (g) => html`<tr>
<td class="wrap"><a href="${link("/admin/grants", { user: g.userEmail || g.userId, client_id: clientId })}">${g.userEmail || g.userId}</a></td>
<td class="wrap"><a href="${link("/admin/grants", { user, client_id: g.clientId })}">${g.clientName || g.clientId}</a></td>
<td>${g.scope.split(" ").map((s) => html`<code>${s}</code> `)}</td>
<td>${g.activeRefreshTokens}</td><td>${when(g.lastUsedTime)}</td><td>${when(g.createTime)}</td>
<td class="row-actions">${buttonForm(ctx, kit, `/admin/grants/${encodeURIComponent(g.id)}/revoke`, "Revoke", {
        hidden: { user, client_id: clientId, label: `${g.clientName || g.clientId} for ${g.userEmail || g.userId}` },
        className: "danger small",
      })}</td></tr>`,
    )
  : html`<tr><td colspan="7" class="empty">No active grants${user || clientId ? " match these filters" : ""}.</td></tr>`}</tbody>
</table></div>
${pager("/admin/grants", { user, client_id: clientId, page_token: pageToken }, res.nextPageToken)}
<p class="muted">Showing ${res.grants.length} grant${res.grants.length === 1 ? "" : "s"}. <a href="${here}">Refresh</a></p>`,
    });
  });

  router.post("/admin/grants/:id/revoke", kit.requireAdmin, async (ctx) => {
    const form = kit.form(ctx);
    const grantId = String(ctx.params.id ?? "");
    const user = field(form, "user", 320);
    const clientId = field(form, "client_id", 2048);
    const label = field(form, "label", 2500) || grantId;
    const back = link("/admin/grants", { user, client_id: clientId });
    if (!confirmed(form)) {
      return confirmStep(ctx, kit, {
        section: "grants",
        title: "Revoke this grant?",
        message: `${label}: the client's refresh tokens and access tokens under this grant stop working at once. The user can approve the client again later.`,
        action: `/admin/grants/${encodeURIComponent(grantId)}/revoke`,
        button: "Revoke grant",
        cancel: back,
        hidden: { user, client_id: clientId, label },
      });
    }
    const { revoked } = await core.auth.revokeGrant({ grantId }, adminOf(ctx).call);
    kit.done(ctx, back, revoked ? `Revoked the grant of ${label}.` : "That grant was already revoked.");
  });

  router.post("/admin/grants/revoke-all", kit.requireAdmin, async (ctx) => {
    const form = kit.form(ctx);
    const user = field(form, "user", 320);
    const clientId = field(form, "client_id", 2048);
    if (!user && !clientId) throw new ConnectError("user: give a user or a client_id whose grants to revoke", Code.InvalidArgument);
    const back = link("/admin/grants", { user, client_id: clientId });
    const whose = user && clientId ? `${user} to client ${clientId}` : user ? `of ${user}` : `to client ${clientId}`;
    if (!confirmed(form)) {
      return confirmStep(ctx, kit, {
        section: "grants",
        title: "Revoke all these grants?",
        message: `Every grant ${whose} is revoked, with every refresh token and access token issued under them.`,
        action: "/admin/grants/revoke-all",
        button: "Revoke all",
        cancel: back,
        hidden: { user, client_id: clientId },
      });
    }
    const { revoked } = await core.auth.revokeGrant({ user, clientId }, adminOf(ctx).call);
    kit.done(ctx, back, `Revoked ${revoked} grant${revoked === 1 ? "" : "s"} ${whose}.`);
  });
}

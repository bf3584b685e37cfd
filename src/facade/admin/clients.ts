import { Code, ConnectError } from "@connectrpc/connect";
import type { Router } from "@koa/router";
import type { Context } from "koa";
import { type Client, ClientRegistration } from "../../../gen/meshai/v1/auth_pb.js";
import type { RouteDeps } from "../app.js";
import { html } from "../pages/html.js";
import { type ConsoleFrame, when } from "./frame.js";
import { adminOf } from "./kit.js";
import { buttonForm, confirmStep, confirmed, field, link, pager } from "./widgets.js";
import { queryOf } from "../oauth/params.js";

const PAGE_SIZE = 25;

/** How a client came to be known, in the console's words. */
export function registrationLabel(r: ClientRegistration): string {
  switch (r) {
    case ClientRegistration.DYNAMIC:
      return "Dynamic registration (DCR)";
    case ClientRegistration.METADATA_DOCUMENT:
      return "Client ID metadata document";
    case ClientRegistration.ADMIN:
      return "Added by an administrator";
    default:
      return "Unknown";
  }
}

const clientPath = (c: Pick<Client, "clientId">) => `/admin/clients/${encodeURIComponent(c.clientId)}`;
const nameOf = (c: Client) => c.clientName || c.clientId;

/**
 * OAuth clients: list with redirect URIs, how each was registered, last use
 * and creation; a client's page; delete (its grants and tokens are revoked
 * with it). ListClients, GetClient and DeleteClient with the console token.
 */
export function clientConsole(router: Router, { core }: RouteDeps, kit: ConsoleFrame): void {
  router.get("/admin/clients", kit.requireAdmin, async (ctx) => {
    const pageToken = field(queryOf(ctx), "page_token", 200);
    const res = await core.auth.listClients({ pageToken, pageSize: PAGE_SIZE }, adminOf(ctx).call);
    kit.render(ctx, {
      title: "OAuth clients",
      section: "clients",
      body: html`<h1>OAuth clients</h1>
<p class="muted">Apps that sign users in to MeshAI: registered by themselves (DCR), known by their metadata document URL, or added with <code>meshai client create</code>.</p>
<div class="table-wrap"><table class="list">
<thead><tr><th>Client</th><th>Redirect URIs</th><th>Registered by</th><th>Last used</th><th>Created</th></tr></thead>
<tbody>${res.clients.length
  ? res.clients.map(
      (c) => html`<tr><td class="wrap"><a href="${clientPath(c)}">${nameOf(c)}</a>${c.clientName ? html`<br><code class="muted">${c.clientId}</code>` : null}</td>
<td class="wrap">${c.redirectUris.length ? c.redirectUris.map((u, i) => html`${i ? html`<br>` : null}${u}`) : html`<span class="muted">none (machine client)</span>`}</td>
<td>${registrationLabel(c.registration)}</td><td>${when(c.lastUsedTime)}</td><td>${when(c.createTime)}</td></tr>`,
    )
  : html`<tr><td colspan="5" class="empty">No OAuth clients yet.</td></tr>`}</tbody>
</table></div>
${pager("/admin/clients", { page_token: pageToken }, res.nextPageToken)}`,
    });
  });

  const findClient = async (ctx: Context): Promise<Client> => {
    const { client } = await core.auth.getClient({ clientId: String(ctx.params.id ?? "") }, adminOf(ctx).call);
    if (!client) throw new ConnectError("client_id: not found", Code.NotFound);
    return client;
  };

  router.get("/admin/clients/:id", kit.requireAdmin, async (ctx) => {
    const c = await findClient(ctx);
    kit.render(ctx, {
      title: nameOf(c),
      section: "clients",
      body: html`<p><a href="/admin/clients">← OAuth clients</a></p>
<h1 class="wrap">${nameOf(c)}</h1>
<dl class="facts">
<dt>Client id</dt><dd><code>${c.clientId}</code></dd>
<dt>Registered by</dt><dd>${registrationLabel(c.registration)}</dd>
<dt>Redirect URIs</dt><dd>${c.redirectUris.length ? c.redirectUris.map((u, i) => html`${i ? html`<br>` : null}<code>${u}</code>`) : "none"}</dd>
<dt>Authentication</dt><dd><code>${c.tokenEndpointAuthMethod}</code></dd>
<dt>Grant types</dt><dd>${c.grantTypes.join(", ") || "—"}</dd>
<dt>Scope</dt><dd>${c.scope || "any (the user's consent decides)"}</dd>
${c.clientUri ? html`<dt>Home page</dt><dd>${c.clientUri}</dd>` : null}
${c.jwksUri ? html`<dt>JWKS URI</dt><dd>${c.jwksUri}</dd>` : null}
<dt>Created</dt><dd>${when(c.createTime)}</dd>
<dt>Last used</dt><dd>${when(c.lastUsedTime)}</dd>
</dl>
<p><a href="${link("/admin/grants", { client_id: c.clientId })}">Users who allowed this client (grants and tokens)</a></p>
<h2>Delete</h2>
<p class="muted">Deleting revokes every grant made to this client and every token issued to it. A self-registered client can register again.</p>
${buttonForm(ctx, kit, `${clientPath(c)}/delete`, "Delete client", { className: "danger" })}`,
    });
  });

  router.post("/admin/clients/:id/delete", kit.requireAdmin, async (ctx) => {
    const form = kit.form(ctx);
    const c = await findClient(ctx);
    if (!confirmed(form)) {
      return confirmStep(ctx, kit, {
        section: "clients",
        title: `Delete ${nameOf(c)}?`,
        message: `Every grant made to ${nameOf(c)} is revoked and every access and refresh token issued to it stops working at once.`,
        action: `${clientPath(c)}/delete`,
        button: "Delete client",
        cancel: clientPath(c),
      });
    }
    await core.auth.deleteClient({ clientId: c.clientId }, adminOf(ctx).call);
    kit.done(ctx, "/admin/clients", `Deleted ${nameOf(c)}; its grants and tokens were revoked.`);
  });
}

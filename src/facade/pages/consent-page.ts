import { html } from "./html.js";
import { layout } from "./layout.js";

export interface ConsentPageModel {
  interactionId: string;
  csrfToken: string;
  clientName: string;
  /** The client_id, shown when it says something (a metadata document URL). */
  clientId: string;
  /** How the client came to be known, in plain words (self-registered, metadata document, admin). */
  clientOrigin: string;
  redirectHost: string;
  scopes: { scope: string; description: string }[];
  userEmail: string;
}

/**
 * Names the client, where the browser will be sent, and every scope in plain
 * words; Allow and Deny are two submit buttons of one form (decision=approve|deny).
 */
export function consentPage(m: ConsentPageModel): string {
  return layout({
    title: "Allow access",
    body: html`<h1>Allow ${m.clientName} to use your MeshAI account?</h1>
<dl class="facts">
<dt>App</dt><dd>${m.clientName}</dd>
${m.clientOrigin ? html`<dt>Source</dt><dd>${m.clientOrigin}</dd>` : null}
<dt>Returns to</dt><dd><strong>${m.redirectHost}</strong></dd>
<dt>Account</dt><dd>${m.userEmail}</dd>
</dl>
<p>It will be able to:</p>
<ul class="scopes">
${m.scopes.map((s) => html`<li>${s.description}<code>${s.scope}</code></li>`)}
</ul>
<p class="muted">Only allow apps you trust. You can revoke access at any time.</p>
<form method="post" action="/oauth/consent">
<input type="hidden" name="interaction" value="${m.interactionId}">
<input type="hidden" name="csrf_token" value="${m.csrfToken}">
<div class="actions">
<button type="submit" name="decision" value="deny" class="secondary">Deny</button>
<button type="submit" name="decision" value="approve">Allow</button>
</div>
</form>`,
    footer: html`Not ${m.userEmail}? <a href="/oauth/logout">Sign out</a> and start again from the app.`,
  });
}

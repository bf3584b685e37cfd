import { html } from "./html.js";
import { layout } from "./layout.js";

export interface LoginPageModel {
  interactionId: string;
  csrfToken: string;
  clientName: string;
  redirectHost: string;
  /** Pre-filled after a failed attempt, never the password. */
  email?: string;
  /** Shown above the form after a failed attempt. */
  error?: string;
}

/** The sign-in form: labelled fields, the interaction and CSRF token as hidden fields. */
export function loginPage(m: LoginPageModel): string {
  return layout({
    title: "Sign in",
    body: html`<h1>Sign in to MeshAI</h1>
<p class="muted">to continue to <strong>${m.clientName}</strong>${m.redirectHost ? html` (${m.redirectHost})` : null}</p>
${m.error ? html`<p class="alert" role="alert">${m.error}</p>` : null}
<form method="post" action="/oauth/login">
<input type="hidden" name="interaction" value="${m.interactionId}">
<input type="hidden" name="csrf_token" value="${m.csrfToken}">
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="username" required${m.email ? null : html` autofocus`} value="${m.email ?? ""}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required${m.email ? html` autofocus` : null}>
<div class="actions"><button type="submit">Sign in</button></div>
</form>`,
    footer: html`Use the same account as the MeshAI console and command line.`,
  });
}

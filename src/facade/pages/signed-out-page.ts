import { html } from "./html.js";
import { layout } from "./layout.js";

/** After logout: nothing to follow, no redirect (no open redirect either). */
export function signedOutPage(): string {
  return layout({
    title: "Signed out",
    body: html`<h1>You are signed out</h1>
<p>Your MeshAI sign-in session in this browser has ended. Apps you allowed keep their access until you revoke it.</p>
<p class="muted">You can close this window.</p>`,
  });
}

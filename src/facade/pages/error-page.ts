import { html } from "./html.js";
import { layout } from "./layout.js";

export interface ErrorPageModel {
  /** A short heading in plain words. */
  title: string;
  /** What went wrong and what to do, in plain words. */
  message: string;
  /** The OAuth error code, for whoever reports the problem. */
  code?: string;
  requestId?: string;
}

/** Shown instead of redirecting whenever the client or its redirect URI cannot be trusted. */
export function errorPage(m: ErrorPageModel): string {
  return layout({
    title: m.title,
    body: html`<h1>${m.title}</h1>
<p class="alert" role="alert">${m.message}</p>
<p class="muted">Go back to the app you came from and try again. If this keeps happening, tell the app's developer or your MeshAI administrator.</p>
${m.code || m.requestId
  ? html`<dl class="facts">${m.code ? html`<dt>Error</dt><dd><code>${m.code}</code></dd>` : null}${m.requestId ? html`<dt>Request</dt><dd><code>${m.requestId}</code></dd>` : null}</dl>`
  : null}`,
  });
}

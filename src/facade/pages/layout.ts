import { Html, html } from "./html.js";
import { STYLESHEET_ASSET } from "./stylesheet.js";

export interface LayoutOptions {
  title: string;
  body: Html;
  /** Small print under the card (e.g. who is signed in). */
  footer?: Html;
}

/** The <head> every page shares, the console's included: not indexed, no referrer, self-served stylesheets only. */
export function pageHead(title: string, stylesheets: readonly string[] = [STYLESHEET_ASSET.url]): Html {
  return html`<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex, nofollow">
<title>${title}</title>
${stylesheets.map((href) => html`<link rel="stylesheet" href="${href}">
`)}</head>`;
}

/**
 * The frame every page shares: one self-served stylesheet, no scripts, no
 * third-party resources (the CSP is `default-src 'self'`), usable without CSS.
 */
export function layout({ title, body, footer }: LayoutOptions): string {
  return html`<!doctype html>
<html lang="en">
${pageHead(`${title} · MeshAI`)}
<body>
<main>
<div class="brand" aria-hidden="true"><span class="brand-mark">M</span><span>MeshAI</span></div>
${body}
</main>
${footer ? html`<footer>${footer}</footer>` : null}
</body>
</html>
`.value;
}

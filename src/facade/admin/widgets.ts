import type { Context } from "koa";
import { HttpError } from "../errors.js";
import { type Html, html } from "../pages/html.js";
import type { ConsoleKit, ConsoleSection } from "./kit.js";

/** Form and query helpers shared by the console's sections. */

export type Fields = Record<string, string | string[] | undefined>;

/** One text field of a form or query, trimmed; "" when absent; 400 when sent twice or too long. */
export function field(fields: Fields, name: string, max = 1000): string {
  const v = fields[name];
  if (Array.isArray(v)) throw new HttpError(400, "invalid_request", `${name}: sent more than once`);
  const s = (v ?? "").trim();
  if (s.length > max) throw new HttpError(400, "invalid_request", `${name}: must be at most ${max} characters`);
  return s;
}

/** A console URL with a query, leaving out empty values. */
export function link(path: string, query: Record<string, string | undefined> = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v) q.set(k, v);
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

/** A form that is one button (POST with the CSRF field and hidden values). */
export function buttonForm(
  ctx: Context,
  kit: ConsoleKit,
  action: string,
  label: string,
  opts: { hidden?: Record<string, string>; className?: string } = {},
): Html {
  return html`<form method="post" action="${action}">${kit.csrfField(ctx)}${Object.entries(opts.hidden ?? {}).map(
    ([k, v]) => html`<input type="hidden" name="${k}" value="${v}">`,
  )}<button type="submit"${opts.className ? html` class="${opts.className}"` : null}>${label}</button></form>`;
}

/**
 * The confirmation step of a destructive action, without JavaScript: the
 * action's first POST (no `confirm` field) lands here, and this page's form
 * posts the same values again with `confirm=yes`.
 */
export function confirmStep(
  ctx: Context,
  kit: ConsoleKit,
  p: { section: ConsoleSection; title: string; message: Html | string; action: string; button: string; cancel: string; hidden?: Record<string, string> },
): void {
  kit.render(ctx, {
    title: p.title,
    section: p.section,
    body: html`<h1>${p.title}</h1>
<div class="confirm">
<p>${p.message}</p>
<div class="inline-actions">
${buttonForm(ctx, kit, p.action, p.button, { hidden: { ...(p.hidden ?? {}), confirm: "yes" }, className: "danger" })}
<a class="button secondary" href="${p.cancel}">Cancel</a>
</div>
</div>`,
  });
}

/** Whether the POSTed form is the confirmed second step. */
export function confirmed(form: Fields): boolean {
  return form.confirm === "yes";
}

/** "Next page" / "First page" links for a token-paged list. */
export function pager(path: string, query: Record<string, string | undefined>, nextPageToken: string): Html {
  const first = query.page_token ? html`<a href="${link(path, { ...query, page_token: undefined })}">First page</a>` : null;
  const next = nextPageToken ? html`<a href="${link(path, { ...query, page_token: nextPageToken })}" rel="next">Next page</a>` : null;
  return first || next ? html`<p class="pager">${first}${next}</p>` : html``;
}

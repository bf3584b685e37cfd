/**
 * HTML that is safe by construction: every value interpolated into the
 * `html` template is escaped unless it is itself `Html` built by this module.
 * Pages never concatenate strings into markup by hand.
 */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ENTITIES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Escapes text for use in element content and in double- or single-quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

type Part = Html | string | number | boolean | null | undefined | readonly Part[];

function render(part: Part): string {
  if (part === null || part === undefined || part === false) return "";
  if (part instanceof Html) return part.value;
  if (Array.isArray(part)) return part.map(render).join("");
  return escapeHtml(String(part));
}

/**
 * Tagged template for markup: interpolations are escaped, nested `html`
 * fragments and arrays of them are kept, `null`/`undefined`/`false` vanish.
 *
 * @example
 * html`<p>Continue to ${client.clientName}</p>` // "<p>Continue to &lt;b&gt;</p>" for "<b>"
 */
export function html(strings: TemplateStringsArray, ...values: Part[]): Html {
  let out = strings[0]!;
  values.forEach((v, i) => {
    out += render(v) + strings[i + 1]!;
  });
  return new Html(out);
}

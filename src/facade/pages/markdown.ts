import { Html, html } from "./html.js";

/**
 * A small, safe Markdown renderer for MeshAI's own docs: headings (with the
 * anchors the core assigns), paragraphs, lists, fenced code, tables, block
 * quotes, and inline code, bold, italics and links. Every piece of text goes
 * through the escaping `html` template; link targets are limited to http(s),
 * relative paths and in-page anchors, so no markup or script can get in.
 */

/** Heading anchors in document order, as GetDoc returns them. */
export interface HeadingAnchor {
  heading: string;
  anchor: string;
}

const SAFE_HREF = /^(https?:\/\/|\/(?!\/)|#|\.\/|[a-z0-9-]+(\.md)?(#[\w-]*)?$)/i;

/** A doc-relative link such as "routing.md#strategies" points at the docs page. */
function href(target: string): string | undefined {
  const t = target.trim();
  if (!SAFE_HREF.test(t)) return undefined;
  const m = /^([a-z0-9-]+)\.md(#[\w-]*)?$/i.exec(t);
  return m ? `/docs/${m[1]!.toLowerCase()}${m[2] ?? ""}` : t;
}

/** Inline spans: `code`, **bold**, *italic* / _italic_, [text](url). */
export function inline(text: string): Html {
  const parts: Html[] = [];
  const re = /`([^`]+)`|\*\*([^*]+)\*\*|(?<![\w*])\*([^*\s][^*]*)\*(?!\w)|(?<![\w])_([^_\s][^_]*)_(?![\w])|\[([^\]]+)\]\(([^)\s]+)\)/g;
  let last = 0;
  for (const m of text.matchAll(re)) {
    parts.push(html`${text.slice(last, m.index)}`);
    if (m[1] !== undefined) parts.push(html`<code>${m[1]}</code>`);
    else if (m[2] !== undefined) parts.push(html`<strong>${inline(m[2])}</strong>`);
    else if (m[3] !== undefined) parts.push(html`<em>${inline(m[3])}</em>`);
    else if (m[4] !== undefined) parts.push(html`<em>${inline(m[4])}</em>`);
    else {
      const target = href(m[6]!);
      parts.push(target ? html`<a href="${target}">${inline(m[5]!)}</a>` : html`${m[5]}`);
    }
    last = m.index + m[0].length;
  }
  parts.push(html`${text.slice(last)}`);
  return html`${parts}`;
}

function tableRow(line: string): string[] {
  return line.trim().replace(/^\|/, "").replace(/\|$/, "").split("|").map((c) => c.trim());
}

/** Renders Markdown to safe HTML; `anchors` gives ## and ### headings their ids, in order. */
export function renderMarkdown(markdown: string, anchors: HeadingAnchor[] = []): Html {
  const lines = markdown.replace(/\r\n/g, "\n").split("\n");
  const out: Html[] = [];
  let anchorIndex = 0;
  let i = 0;
  const isBlockStart = (l: string) => /^(#{1,6}\s|\s*(`{3,}|~{3,})|\s*([-*+]|\d+\.)\s|>\s?|\|)/.test(l);
  while (i < lines.length) {
    const line = lines[i]!;
    if (!line.trim()) {
      i++;
      continue;
    }
    const fence = /^\s*(`{3,}|~{3,})\s*([\w+-]*)/.exec(line);
    if (fence) {
      const body: string[] = [];
      i++;
      while (i < lines.length && !lines[i]!.trim().startsWith(fence[1]!)) body.push(lines[i++]!);
      i++;
      out.push(html`<pre><code${fence[2] ? html` class="language-${fence[2]}"` : null}>${body.join("\n")}</code></pre>\n`);
      continue;
    }
    const heading = /^(#{1,6})\s+(.+?)\s*#*\s*$/.exec(line);
    if (heading) {
      const level = heading[1]!.length;
      let id: string | undefined;
      if (level === 2 || level === 3) id = anchors[anchorIndex++]?.anchor;
      const tag = new Html(`h${level}`);
      out.push(html`<${tag}${id ? html` id="${id}"` : null}>${inline(heading[2]!)}</${tag}>\n`);
      i++;
      continue;
    }
    if (/^\s*([-*+]|\d+\.)\s/.test(line)) {
      const ordered = /^\s*\d+\./.test(line);
      const items: string[] = [];
      while (i < lines.length && lines[i]!.trim()) {
        const l = lines[i]!;
        const item = /^\s*([-*+]|\d+\.)\s+(.*)$/.exec(l);
        if (item) items.push(item[2]!);
        else if (items.length && !isBlockStart(l)) items[items.length - 1] += ` ${l.trim()}`;
        else break;
        i++;
      }
      const lis = items.map((t) => html`<li>${inline(t)}</li>`);
      out.push(ordered ? html`<ol>${lis}</ol>\n` : html`<ul>${lis}</ul>\n`);
      continue;
    }
    if (/^\s*\|/.test(line) && i + 1 < lines.length && /^\s*\|?[\s:|-]+\|?\s*$/.test(lines[i + 1]!) && lines[i + 1]!.includes("-")) {
      const head = tableRow(line);
      i += 2;
      const rows: string[][] = [];
      while (i < lines.length && /^\s*\|/.test(lines[i]!)) rows.push(tableRow(lines[i++]!));
      out.push(html`<table><thead><tr>${head.map((c) => html`<th>${inline(c)}</th>`)}</tr></thead><tbody>${rows.map(
        (r) => html`<tr>${r.map((c) => html`<td>${inline(c)}</td>`)}</tr>`,
      )}</tbody></table>\n`);
      continue;
    }
    if (/^>\s?/.test(line)) {
      const quote: string[] = [];
      while (i < lines.length && /^>\s?/.test(lines[i]!)) quote.push(lines[i++]!.replace(/^>\s?/, ""));
      out.push(html`<blockquote>${renderMarkdown(quote.join("\n"))}</blockquote>\n`);
      continue;
    }
    const para: string[] = [];
    while (i < lines.length && lines[i]!.trim() && !isBlockStart(lines[i]!)) para.push(lines[i++]!.trim());
    if (para.length === 0) para.push(lines[i++]!.trim());
    out.push(html`<p>${inline(para.join(" "))}</p>\n`);
  }
  return html`${out}`;
}

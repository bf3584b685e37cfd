import { Code, ConnectError } from "@connectrpc/connect";
import type { Router } from "@koa/router";
import type { RouteDeps } from "../app.js";
import { HttpError } from "../errors.js";
import { html } from "./html.js";
import { layout } from "./layout.js";
import { renderMarkdown } from "./markdown.js";

/**
 * The pages search results point to: MeshAI's docs rendered from Markdown
 * (public, through the core's GetDoc/ListDocs), and for agents, tasks and
 * workflows a page saying how to see them, since those need a signed-in
 * client.
 */

const SLUG = /^[a-z0-9][a-z0-9_-]{0,99}$/;

function page(ctx: { type: string; body: unknown; set(k: string, v: string): void }, text: string) {
  ctx.type = "text/html; charset=utf-8";
  ctx.set("cache-control", "public, max-age=60");
  ctx.body = text;
}

function explainPage(kind: "agent" | "task" | "workflow", id: string): string {
  const typed = `${kind}:${id}`;
  const how = {
    agent: html`<p>Agents are listed to signed-in clients. In ChatGPT, ask to <em>fetch</em> <code>${typed}</code> or use <code>list_agents</code>. Over gRPC call <code>MeshService/GetAgent</code> with <code>{"id": "${id}"}</code> and a token holding <code>mcp:read</code>.</p>`,
    task: html`<p>A task is visible only to the user who ran it (and to administrators). In ChatGPT, ask to <em>fetch</em> <code>${typed}</code>. Over gRPC call <code>MeshService/GetTask</code> with <code>{"id": "${id}"}</code>, or <code>MeshService/WatchTask</code> to follow its events, with a token holding <code>mcp:read</code>.</p>`,
    workflow: html`<p>Workflow templates are shown to signed-in clients. In ChatGPT, ask to <em>fetch</em> <code>${typed}</code>; submit it with <code>submit_workflow</code>. Over gRPC call <code>MeshService/Fetch</code> with <code>{"id": "${typed}"}</code>.</p>`,
  }[kind];
  const title = { agent: "Agent", task: "Task", workflow: "Workflow" }[kind];
  return layout({
    title: `${title} ${id}`,
    body: html`<h1>${title} <code>${id}</code></h1>
${how}
<p class="muted">See <a href="/docs/search">Search and fetch</a> and <a href="/docs/grpc">Calling MeshAI over gRPC</a>.</p>`,
  });
}

export function docsRoutes(router: Router, { core }: RouteDeps): void {
  router.get("/docs", async (ctx) => {
    const { docs } = await core.mesh.listDocs({});
    page(
      ctx,
      layout({
        title: "Docs",
        body: html`<h1>MeshAI docs</h1>
<ul>${docs.map((d) => html`<li><a href="/docs/${d.slug}">${d.title}</a>${d.sections.length ? html`<ul>${d.sections.filter((s) => s.level === 2).map((s) => html`<li><a href="/docs/${d.slug}#${s.anchor}">${s.heading}</a></li>`)}</ul>` : null}</li>`)}</ul>`,
      }),
    );
  });

  router.get("/docs/:slug", async (ctx) => {
    const slug = String(ctx.params.slug ?? "").replace(/\.md$/, "").toLowerCase();
    if (!SLUG.test(slug)) throw new HttpError(404, "not_found", "no such doc");
    let doc;
    try {
      ({ doc } = await core.mesh.getDoc({ slug }));
    } catch (e) {
      if (e instanceof ConnectError && e.code === Code.NotFound) {
        ctx.status = 404;
        page(ctx, layout({ title: "Doc not found", body: html`<h1>Doc not found</h1><p>There is no doc named <code>${slug}</code>. See <a href="/docs">all docs</a>.</p>` }));
        return;
      }
      throw e;
    }
    if (!doc) throw new HttpError(404, "not_found", "no such doc");
    page(
      ctx,
      layout({
        title: doc.title,
        body: html`<article class="doc">${renderMarkdown(doc.markdown, doc.sections)}</article>
<p class="muted"><a href="/docs">All docs</a></p>`,
      }),
    );
  });

  for (const kind of ["agent", "task", "workflow"] as const) {
    router.get(`/${kind}s/:id`, (ctx) => {
      const id = String(ctx.params.id ?? "");
      if (!id || id.length > 300) throw new HttpError(404, "not_found", `no such ${kind}`);
      page(ctx, explainPage(kind, id));
    });
  }
}

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../../src/config.js";
import { renderMarkdown } from "../../../src/facade/pages/markdown.js";
import { type RunningFacade, startFacade } from "../../../src/facade/server.js";
import { type TestCore, startTestCore, testEnv } from "../../support/core.js";

// The pages that search and fetch URLs point to, served by the facade from the core's public GetDoc/ListDocs.
let t: TestCore;
let facade: RunningFacade;

beforeAll(async () => {
  t = await startTestCore();
  facade = await startFacade(loadConfig(testEnv({ MESHAI_CORE_URL: t.core.url, MESHAI_ISSUER: t.config.issuer })));
});
afterAll(async () => {
  await facade.close();
  await t.close();
});

describe("every doc URL a search returns opens a rendered page without a token", () => {
  it("renders /docs/<slug> with heading anchors matching the section ids", async () => {
    const res = await fetch(`${facade.url}/docs/routing`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/text\/html/);
    const body = await res.text();
    expect(body).toContain("<h1>Routing and task execution</h1>");
    expect(body).toContain('<h2 id="retries-fallback-and-circuit-breakers">Retries, fallback and circuit breakers</h2>');
    expect(body).toContain("<code>capability_match</code>");
  });

  it("lists the docs at /docs", async () => {
    const body = await (await fetch(`${facade.url}/docs`)).text();
    for (const slug of ["getting-started", "agents", "routing", "grpc", "search"]) expect(body).toContain(`href="/docs/${slug}"`);
  });

  it("answers 404 for an unknown doc", async () => {
    const res = await fetch(`${facade.url}/docs/no-such-doc`);
    expect(res.status).toBe(404);
    expect(await res.text()).toContain("Doc not found");
  });

  it("explains how to view agents and tasks, escaping the id", async () => {
    const agent = await (await fetch(`${facade.url}/agents/builtin.docs`)).text();
    expect(agent).toContain("agent:builtin.docs");
    const task = await (await fetch(`${facade.url}/tasks/${encodeURIComponent("<script>x</script>")}`)).text();
    expect(task).not.toContain("<script>x");
    expect(task).toContain("&lt;script&gt;");
  });
});

describe("the Markdown renderer lets no markup through", () => {
  it("escapes raw HTML and refuses javascript: links", () => {
    const out = renderMarkdown('<img src=x onerror=alert(1)>\n\n[click](javascript:alert(1)) and [ok](https://example.com) and [doc](routing.md#strategies)').value;
    expect(out).not.toContain("<img");
    expect(out).toContain("&lt;img src=x onerror=alert(1)&gt;");
    expect(out).not.toContain("javascript:");
    expect(out).toContain('<a href="https://example.com">ok</a>');
    expect(out).toContain('<a href="/docs/routing#strategies">doc</a>');
  });

  it("renders code blocks, lists and tables", () => {
    const out = renderMarkdown("```sh\necho \"<b>\"\n```\n\n- one\n- **two**\n\n| a | b |\n| --- | --- |\n| 1 | `2` |").value;
    expect(out).toContain('<pre><code class="language-sh">echo &quot;&lt;b&gt;&quot;</code></pre>');
    expect(out).toContain("<ul><li>one</li><li><strong>two</strong></li></ul>");
    expect(out).toContain("<table><thead><tr><th>a</th><th>b</th></tr></thead><tbody><tr><td>1</td><td><code>2</code></td></tr></tbody></table>");
  });
});

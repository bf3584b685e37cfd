import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import type { Browser, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MeshService, TaskState } from "../../../gen/meshai/v1/mesh_pb.js";
import { type OAuthStack, consoleScreenshot, signInToConsole, startConsole } from "../../support/admin-browser.js";
import { type A2aLog, type Peer, startA2aAgent } from "../../core/mesh/peers.js";
import { gate, type ScriptedAgent, startScriptedAgent } from "../../core/workflows/peers.js";

// The console's agents and tasks sections in real Chromium against a real facade and core, with real
// loopback agents: a MeshAI /execute agent whose answers wait on gates the test opens, and an A2A agent
// (@a2a-js/sdk) whose card is imported.
let stack: OAuthStack;
let browser: Browser;
let page: Page;
let agent: ScriptedAgent;
let a2a: Peer & { log: A2aLog };
let mesh: ReturnType<typeof createClient<typeof MeshService>>;
let adminToken: string;
const gates = new Map<string, ReturnType<typeof gate>>();
const cspErrors: string[] = [];
const auth = () => ({ headers: { authorization: `Bearer ${adminToken}` } });

beforeAll(async () => {
  [agent, a2a] = await Promise.all([
    startScriptedAgent(async (task) => {
      const g = [...gates.entries()].find(([k]) => task.includes(k))?.[1];
      if (g) await g.opened;
      return { output: `written: ${task}` };
    }),
    startA2aAgent("stream", { streaming: true, name: "Summariser", skills: ["summarization"] }),
  ]);
  // Loopback agents need the private-network switch, as every agent test here.
  ({ stack, browser } = await startConsole({ MESHAI_ALLOW_PRIVATE_NETWORK: "true", MESHAI_HEALTH_CHECK_INTERVAL: "0" }));
  adminToken = await stack.t.token("mcp:read mcp:execute mcp:manage");
  mesh = createClient(MeshService, createGrpcTransport({ baseUrl: stack.t.core.url }));
  page = await browser.newPage();
  page.on("console", (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) cspErrors.push(m.text());
  });
  await signInToConsole(page, stack);
}, 120_000);

afterAll(async () => {
  for (const g of gates.values()) g.open();
  await browser?.close();
  await stack?.close();
  await Promise.all([agent?.close(), a2a?.close()]);
});

/** Clicks a submit button and waits for the page the POST lands on (after its 303). */
async function press(name: string | RegExp, scope: Page | Locator = page): Promise<void> {
  await Promise.all([page.waitForEvent("framenavigated"), scope.getByRole("button", { name, exact: typeof name === "string" }).first().click()]);
  await page.waitForLoadState("load");
}

const flash = async () => (await page.locator(".flash").textContent()) ?? "";
const registry = () => stack.t.core.platform.registry;

/** A task held by the scripted agent until `open()`; `key` must appear in its text. */
function gated(key: string) {
  const g = gate();
  gates.set(key, g);
  return g;
}

/** The agent the task tests run on; the agents tests register it through the form, a filtered run here. */
async function ensureWriter(): Promise<void> {
  const exists = await registry().get("writer").then(() => true, () => false);
  if (!exists) await registry().register({ id: "writer", name: "Writer II", protocol: "meshai_http", endpoint: agent.url, capabilities: ["console_writing"] });
}

async function startDetached(task: string): Promise<string> {
  await ensureWriter();
  const stop = new AbortController();
  try {
    for await (const r of mesh.executeTask({ task, agents: ["writer"], detached: true }, { ...auth(), signal: stop.signal })) return r.event!.taskId;
  } finally {
    stop.abort();
  }
  throw new Error("ExecuteTask sent no event");
}

describe("agents: register from the form and from an A2A card URL, check health, edit, disable, delete", { timeout: 90_000 }, () => {
  it("registers a real loopback agent from the full form; the bearer token is stored but never shown", async () => {
    await page.goto(`${stack.issuer}/admin/agents`);
    await consoleScreenshot(page, "agents-empty");
    await Promise.all([page.waitForURL(/\/admin\/agents\/new$/), page.getByRole("link", { name: "Register agent" }).click()]);
    const form = page.getByRole("form", { name: "Register an agent" });
    await form.getByLabel("Id").fill("writer");
    await form.getByLabel("Name").fill("Writer");
    await form.getByLabel("Description").fill("Writes prose on request");
    await form.getByLabel("Framework").fill("crewai");
    await form.getByLabel("Protocol").selectOption("meshai_http");
    await form.getByLabel("Endpoint").fill(agent.url);
    await form.getByLabel("Capabilities").fill("console_writing, text_generation");
    await form.getByLabel("Tags").fill("prose");
    await form.getByLabel("Max concurrent tasks").fill("3");
    await form.getByLabel("Bearer token").fill("writer-secret-token-123");
    await consoleScreenshot(page, "agent-register");
    await press("Register agent", form);

    expect(await flash()).toContain("Registered agent Writer (writer)");
    const stored = await registry().get("writer");
    expect(stored).toMatchObject({ name: "Writer", protocol: "meshai_http", endpoint: agent.url, capabilities: ["console_writing", "text_generation"], tags: ["prose"], maxConcurrentTasks: 3, framework: "crewai" });
    expect(stored.credentials).toEqual({ bearerToken: "writer-secret-token-123" });
    expect(await page.content()).not.toContain("writer-secret-token-123");
    expect(await page.locator("dl.facts").textContent()).toContain("stored (never shown)");
  });

  it("checks health now: the verdict, its detail and the check time show on the agent's page and in the list", async () => {
    await page.goto(`${stack.issuer}/admin/agents/writer`);
    await press("Check health now");
    expect(await flash()).toMatch(/Health check of Writer: healthy/);
    expect(await page.locator("dl.facts").textContent()).toMatch(/Last health check\d{4}-\d\d-\d\d \d\d:\d\d UTC/);
    await consoleScreenshot(page, "agent-detail");
    await page.goto(`${stack.issuer}/admin/agents`);
    const row = page.locator('tr[data-agent="writer"]');
    expect(await row.textContent()).toMatch(/meshai_http.*console_writing.*healthy.*UTC/s);
    expect(await row.textContent()).toContain("0 / 3");
    await consoleScreenshot(page, "agents");
  });

  it("registers an agent from its A2A card URL (name and skills from the card)", async () => {
    await page.goto(`${stack.issuer}/admin/agents/new`);
    const form = page.getByRole("form", { name: "Register from an agent card" });
    await form.getByLabel("Agent card URL").fill(`${a2a.url}/.well-known/agent-card.json`);
    await form.getByLabel("Id").fill("summariser");
    await press("Import and register", form);
    expect(await flash()).toContain("Registered agent Summariser (summariser)");
    expect(await registry().get("summariser")).toMatchObject({ protocol: "a2a", capabilities: ["summarization"], name: "Summariser" });
  });

  it("filters the agent list by protocol, capability, health and enabled", async () => {
    await page.goto(`${stack.issuer}/admin/agents`);
    const filters = page.getByRole("form", { name: "Filter agents" });
    await filters.getByLabel("Protocol").selectOption("a2a");
    await Promise.all([page.waitForURL(/protocol=a2a/), filters.getByRole("button", { name: "Apply" }).click()]);
    const ids = () => page.locator("tr[data-agent]").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-agent")));
    expect(await ids()).toEqual(["summariser"]);
    await page.goto(`${stack.issuer}/admin/agents?capability=console_writing&health=healthy`);
    expect(await ids()).toEqual(["writer"]);
    await page.goto(`${stack.issuer}/admin/agents?capability=no_such_skill`);
    expect(await page.locator("tbody[data-live-rows]").textContent()).toContain("No agent matches these filters.");
  });

  it("a mistake in the form re-renders it with the core's message naming the field (400), without the token", async () => {
    await page.goto(`${stack.issuer}/admin/agents/new`);
    const form = page.getByRole("form", { name: "Register an agent" });
    await form.getByLabel("Name").fill("Broken");
    await form.getByLabel("Endpoint").fill(agent.url);
    await form.getByLabel("Capabilities").fill("Not-A-Capability");
    await form.getByLabel("Bearer token").fill("do-not-echo-me");
    const [res] = await Promise.all([page.waitForResponse((r) => r.request().method() === "POST"), form.getByRole("button", { name: "Register agent" }).click()]);
    expect(res.status()).toBe(400);
    await page.waitForLoadState("load");
    expect(await page.getByRole("alert").textContent()).toContain("agent.capabilities");
    expect(await page.getByRole("form", { name: "Register an agent" }).getByLabel("Name").inputValue()).toBe("Broken");
    expect(await page.content()).not.toContain("do-not-echo-me");
  });

  it("edits an agent: fields change, the stored token is kept when the token field is left empty", async () => {
    await page.goto(`${stack.issuer}/admin/agents/writer/edit`);
    const form = page.getByRole("form", { name: "Edit agent" });
    expect(await form.getByLabel(/Bearer token/).inputValue()).toBe("");
    await form.getByLabel("Name").fill("Writer II");
    await form.getByLabel("Max concurrent tasks").fill("5");
    await form.getByLabel("Model").fill("prose-model");
    await consoleScreenshot(page, "agent-edit");
    await press("Save", form);
    expect(await flash()).toContain("Saved agent Writer II");
    const stored = await registry().get("writer");
    expect(stored).toMatchObject({ name: "Writer II", maxConcurrentTasks: 5, config: { model: "prose-model" }, endpoint: agent.url, capabilities: ["console_writing", "text_generation"] });
    expect(stored.credentials).toEqual({ bearerToken: "writer-secret-token-123" });
  });

  it("disables an agent (no task is routed to it) and enables it again", async () => {
    await page.goto(`${stack.issuer}/admin/agents/writer`);
    await press("Disable");
    expect(await flash()).toContain("Disabled Writer II");
    expect((await registry().get("writer")).enabled).toBe(false);
    const events = [];
    for await (const r of mesh.executeTask({ task: "write while disabled", capabilities: ["console_writing"] }, auth())) events.push(r.event!);
    expect(events.at(-1)?.state).toBe(TaskState.FAILED);
    await page.goto(`${stack.issuer}/admin/agents`);
    expect(await page.locator('tr[data-agent="writer"]').textContent()).toContain("disabled");
    await page.goto(`${stack.issuer}/admin/agents/writer`);
    await press("Enable");
    expect(await flash()).toContain("Enabled Writer II");
    expect((await registry().get("writer")).enabled).toBe(true);
  });

  it("an agent or task action posted without its CSRF token is refused (403) and changes nothing", async () => {
    for (const [path, form] of [
      ["/admin/agents/writer/enabled", { enabled: "no" }],
      ["/admin/agents/writer/delete", { confirm: "yes" }],
      ["/admin/agents", { source: "form", id: "sneaky", name: "Sneaky", protocol: "meshai_http", endpoint: agent.url, capabilities: "sneaking" }],
    ] as const) {
      const res = await page.request.post(`${stack.issuer}${path}`, { form: { ...form } });
      expect(res.status(), path).toBe(403);
      expect(await res.text()).toContain("csrf_token");
    }
    expect((await registry().get("writer")).enabled).toBe(true);
    await expect(registry().get("sneaky")).rejects.toThrow(/not found/);
  });

  it("deletes an agent only after a confirm step", async () => {
    await page.goto(`${stack.issuer}/admin/agents/summariser`);
    await press("Delete");
    expect(await page.locator("h1").textContent()).toBe("Delete Summariser?");
    expect(await registry().get("summariser")).toBeTruthy();
    await consoleScreenshot(page, "agent-delete-confirm");
    await press("Delete agent");
    expect(await flash()).toContain("Deleted agent Summariser (summariser)");
    await expect(registry().get("summariser")).rejects.toThrow(/not found/);
  });
});

describe("tasks and workflows: a live list and a detail view that streams events as they happen", { timeout: 120_000 }, () => {
  it("the list shows a task started after the page loaded, then its new state, without a reload", async () => {
    const first = gated("list-first");
    const firstId = await startDetached("draft the list-first note");
    await agent.waitFor((t) => t.includes("list-first"));
    await page.goto(`${stack.issuer}/admin/tasks`);
    await page.evaluate(() => ((globalThis as unknown as { notReloaded: boolean }).notReloaded = true));
    expect(await page.locator(`tr[data-task="${firstId}"] .tag`).textContent()).toBe("executing");

    const second = gated("list-second");
    const secondId = await startDetached("draft the list-second note");
    await page.locator(`tr[data-task="${secondId}"]`).waitFor();
    first.open();
    await page.locator(`tr[data-task="${firstId}"] .tag`, { hasText: "completed" }).waitFor();
    expect(await page.evaluate(() => (globalThis as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    expect(await page.locator("[data-live-status]").textContent()).toMatch(/Live: updated at/);
    await consoleScreenshot(page, "tasks");
    second.open();
  });

  it("filters the list by state and kind", async () => {
    await page.goto(`${stack.issuer}/admin/tasks`);
    await page.getByLabel("State").selectOption("completed");
    await page.getByLabel("Kind").selectOption("task");
    await Promise.all([page.waitForURL(/state=completed&kind=task/), page.getByRole("button", { name: "Apply" }).click()]);
    const states = await page.locator("tbody[data-live-rows] tr td:nth-child(3)").allTextContents();
    expect(states.length).toBeGreaterThan(0);
    expect(new Set(states)).toEqual(new Set(["completed"]));
  });

  it("the detail view shows the events so far, then appends each new event and the COMPLETED one without a reload", async () => {
    const g = gated("detail-live");
    const id = await startDetached("write the detail-live story");
    await agent.waitFor((t) => t.includes("detail-live"));
    await page.goto(`${stack.issuer}/admin/tasks/${id}`);
    await page.evaluate(() => ((globalThis as unknown as { notReloaded: boolean }).notReloaded = true));
    const types = () => page.locator("tr[data-seq]").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-type")));
    expect((await types()).slice(0, 2)).toEqual(["accepted", "routed"]);
    expect(await types()).not.toContain("completed");
    expect(await page.locator("[data-task-state]").textContent()).toBe("executing");
    await page.locator("[data-live-status]", { hasText: "Live: following events" }).waitFor();
    await consoleScreenshot(page, "task-detail-running");

    g.open();
    await page.locator('tr[data-type="completed"]').waitFor();
    expect(await page.evaluate(() => (globalThis as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    expect(await page.locator("[data-task-state]").textContent()).toBe("completed");
    expect(await page.locator("[data-task-state]").getAttribute("class")).toBe("tag on");
    expect(await page.locator("[data-task-ended]").textContent()).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d UTC$/);
    expect(await page.locator("[data-task-output]").textContent()).toContain("written: write the detail-live story");
    const seqs = await page.locator("tr[data-seq]").evaluateAll((rows) => rows.map((r) => Number(r.getAttribute("data-seq"))));
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    await page.locator("[data-live-status]", { hasText: "The task has ended." }).waitFor();
    expect(await page.locator("[data-cancel-form]").isHidden()).toBe(true);
    await consoleScreenshot(page, "task-detail-completed");
  });

  it("cancels a running task with the Cancel button (POST with CSRF)", async () => {
    gated("cancel-me");
    const id = await startDetached("write the cancel-me essay");
    await agent.waitFor((t) => t.includes("cancel-me"));
    await page.goto(`${stack.issuer}/admin/tasks/${id}`);
    await page.getByLabel("Reason").fill("changed my mind");
    await press("Cancel task");
    expect(await flash()).toContain(`Cancelled ${id}`);
    const { task } = await mesh.getTask({ id }, auth());
    expect(task?.state).toBe(TaskState.CANCELLED);
    expect(task?.error).toContain("changed my mind");
    expect(await page.locator("[data-task-state]").textContent()).toBe("cancelled");
  });

  it("a workflow's page lists its steps (child tasks) and follows them live", async () => {
    const g = gated("wf-polish");
    const { workflow } = await mesh.submitWorkflow(
      { workflowType: "sequential", payload: { steps: [{ id: "draft", task: "wf-draft the intro", agent: "writer" }, { id: "polish", task: "wf-polish: {{previous.output}}", agent: "writer" }] } },
      auth(),
    );
    const id = workflow!.id;
    await agent.waitFor((t) => t.includes("wf-polish"));
    await page.goto(`${stack.issuer}/admin/tasks/${id}`);
    expect(await page.locator("h1").textContent()).toContain("Workflow");
    expect(await page.locator("tbody[data-steps] tr").count()).toBe(2);
    g.open();
    await page.locator('tr[data-type="completed"]').waitFor();
    await page.locator("tbody[data-steps] tr .tag", { hasText: "completed" }).nth(1).waitFor();
    const stepLinks = await page.locator("tbody[data-steps] a code").allTextContents();
    const steps = (await mesh.listTasks({ parentId: id }, auth())).tasks;
    expect(stepLinks).toEqual(steps.map((s) => s.id));
    await consoleScreenshot(page, "workflow-detail");
    // A step's page links back to its workflow.
    await page.goto(`${stack.issuer}/admin/tasks/${steps[0]!.id}`);
    expect(await page.getByRole("link", { name: `workflow ${id}` }).count()).toBe(1);
  });

  it("an agent's page lists its recent tasks and links to all of them (ListTasks agent_id)", async () => {
    await page.goto(`${stack.issuer}/admin/agents/writer`);
    const recent = await page.locator("tr[data-task]").count();
    expect(recent).toBeGreaterThan(0);
    await Promise.all([page.waitForURL(/\/admin\/tasks\?agent=writer/), page.getByRole("link", { name: /^All tasks of / }).click()]);
    const agents = await page.locator("tbody[data-live-rows] tr td:nth-child(4)").allTextContents();
    expect(agents.length).toBeGreaterThanOrEqual(recent);
    expect(new Set(agents)).toEqual(new Set(["writer"]));
  });

  it("the console's script runs under the CSP (no inline script, no violation reported)", async () => {
    const res = await page.request.get(`${stack.issuer}/admin/assets/live.js`);
    expect(res.status()).toBe(200);
    expect(res.headers()["content-type"]).toBe("text/javascript; charset=utf-8");
    expect(res.headers()["cache-control"]).toContain("max-age");
    expect(cspErrors).toEqual([]);
  });
});

/** Parses an SSE body into its events. */
function sse(text: string): { id?: string; event: string; data: string }[] {
  return text
    .split("\n\n")
    .filter((block) => /^(event|data|id):/m.test(block))
    .map((block) => {
      const f: Record<string, string> = {};
      for (const line of block.split("\n")) {
        const m = /^(\w+): ?(.*)$/.exec(line);
        if (m) f[m[1]!] = m[2]!;
      }
      return { id: f.id, event: f.event ?? "message", data: f.data ?? "" };
    });
}

describe("the task events SSE endpoint: admins only, one event per task event with id = seq, Last-Event-ID resumes", { timeout: 90_000 }, () => {
  let id = "";
  let total = 0;
  beforeAll(async () => {
    id = await startDetached("write the sse-check memo");
    for await (const r of mesh.watchTask({ id }, auth())) total = Number(r.event!.seq);
  });

  it("streams every event of an ended task with id = seq, then `end`", async () => {
    const res = await page.request.get(`${stack.issuer}/admin/tasks/${id}/events`);
    expect(res.status()).toBe(200);
    expect(res.headers()["content-type"]).toBe("text/event-stream; charset=utf-8");
    const events = sse(await res.text());
    const task = events.filter((e) => e.event === "task");
    expect(task.map((e) => Number(e.id))).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(task.map((e) => (JSON.parse(e.data) as { seq: number }).seq)).toEqual(task.map((e) => Number(e.id)));
    expect(JSON.parse(task.at(-1)!.data)).toMatchObject({ type: "completed", state: "completed" });
    expect(events.at(-1)?.event).toBe("end");
  });

  it("Last-Event-ID resumes after that event (and wins over ?after)", async () => {
    const res = await page.request.get(`${stack.issuer}/admin/tasks/${id}/events?after=1`, { headers: { "last-event-id": "2" } });
    const ids = sse(await res.text()).filter((e) => e.event === "task").map((e) => Number(e.id));
    expect(ids).toEqual(Array.from({ length: total - 2 }, (_, i) => i + 3));
    const all = await page.request.get(`${stack.issuer}/admin/tasks/${id}/events`, { headers: { "last-event-id": String(total) } });
    expect(sse(await all.text()).map((e) => e.event)).toEqual(["end"]);
    const bad = await page.request.get(`${stack.issuer}/admin/tasks/${id}/events`, { headers: { "last-event-id": "seven" } });
    expect(bad.status()).toBe(400);
  });

  it("a browser that goes away cancels the WatchTask stream behind it", async () => {
    // Count the core's live followers of the task (WatchTask subscribes to the event bus while it streams).
    const bus = stack.t.core.platform.mesh.bus;
    const subscribe = bus.subscribe.bind(bus);
    const live = new Map<string, number>();
    bus.subscribe = (taskId, listener) => {
      live.set(taskId, (live.get(taskId) ?? 0) + 1);
      const off = subscribe(taskId, listener);
      return () => {
        live.set(taskId, live.get(taskId)! - 1);
        off();
      };
    };
    const g = gated("sse-leave");
    try {
      const running = await startDetached("write the sse-leave letter");
      await agent.waitFor((t) => t.includes("sse-leave"));
      const cookie = (await page.context().cookies(stack.issuer)).map((c) => `${c.name}=${c.value}`).join("; ");
      const leave = new AbortController();
      const res = await fetch(`${stack.issuer}/admin/tasks/${running}/events`, { headers: { cookie, accept: "text/event-stream" }, signal: leave.signal });
      expect(res.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
      const reader = res.body!.getReader();
      let text = "";
      while (!/^event: task$/m.test(text)) text += new TextDecoder().decode((await reader.read()).value);
      await expect.poll(() => live.get(running) ?? 0).toBeGreaterThan(0);
      leave.abort();
      await expect.poll(() => live.get(running), { timeout: 10_000 }).toBe(0);
      expect((await mesh.getTask({ id: running }, auth())).task?.state).toBe(TaskState.EXECUTING);
    } finally {
      bus.subscribe = subscribe;
      g.open();
    }
  });

  it("an unknown task is a 404, not an empty stream", async () => {
    const res = await page.request.get(`${stack.issuer}/admin/tasks/tsk_unknown/events`);
    expect(res.status()).toBe(404);
    expect(res.headers()["content-type"]).not.toContain("event-stream");
  });

  it("without a session the stream is refused (sent to sign in); a signed-in non-admin gets 403", async () => {
    const anon = await fetch(`${stack.issuer}/admin/tasks/${id}/events`, { redirect: "manual", headers: { accept: "text/event-stream" } });
    expect(anon.status).toBe(303);
    expect(anon.headers.get("location")).toMatch(/^\/admin\/login\?next=/);
    expect(anon.headers.get("content-type") ?? "").not.toContain("event-stream");
    await anon.arrayBuffer();

    await stack.addUser("viewer@example.com", "viewer-password-1");
    const context = await browser.newContext();
    const other = await context.newPage();
    await signInToConsole(other, stack, { email: "viewer@example.com", password: "viewer-password-1" });
    const res = await other.request.get(`${stack.issuer}/admin/tasks/${id}/events`);
    expect(res.status()).toBe(403);
    expect(res.headers()["content-type"]).not.toContain("event-stream");
    await context.close();
  });
});

describe("without JavaScript the pages still work (only the live parts need it)", { timeout: 90_000 }, () => {
  it("lists agents and tasks, shows a task's events so far, and disables an agent by form post", async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const p = await context.newPage();
    try {
      await signInToConsole(p, stack);
      await p.goto(`${stack.issuer}/admin/tasks`);
      const first = p.locator("tbody[data-live-rows] tr a").first();
      const href = (await first.getAttribute("href"))!;
      await p.goto(`${stack.issuer}${href}`);
      expect(await p.locator("tr[data-seq]").count()).toBeGreaterThan(0);
      await p.goto(`${stack.issuer}/admin/agents/writer`);
      await Promise.all([p.waitForEvent("framenavigated"), p.getByRole("button", { name: "Disable", exact: true }).click()]);
      await p.waitForLoadState("load");
      expect(await p.locator(".flash").textContent()).toContain("Disabled Writer II");
      expect((await registry().get("writer")).enabled).toBe(false);
    } finally {
      await context.close();
    }
  });
});

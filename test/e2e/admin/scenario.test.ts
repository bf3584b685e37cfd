import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { Code } from "@connectrpc/connect";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type GrantedTokens,
  type OAuthStack,
  consoleScreenshot,
  grantedTokens,
  grpcListAgentsCode,
  mcpStatus,
  signInToConsole,
  startConsole,
} from "../../support/admin-browser.js";
import { gate, type ScriptedAgent, startScriptedAgent } from "../../core/workflows/peers.js";

// The story, once, in real Chromium against a real facade, core and loopback agent: an admin
// signs in, creates a user, registers an agent, watches that user's running task stream, revokes the
// user's grant, and the MCP endpoint then refuses the user's token; a non-admin is refused the console;
// a form posted without its CSRF token is refused. Screenshots: test-output/admin/scenario-*.png.
let stack: OAuthStack;
let browser: Browser;
let admin: Page;
let agent: ScriptedAgent;
const held = gate();
const DANA = { email: "dana@example.com", password: "dana-password-1" };
let dana: GrantedTokens;
let danaMcp: Client;
let danaRun: Promise<unknown>;

beforeAll(async () => {
  agent = await startScriptedAgent(async (task) => {
    if (task.includes("quarterly")) await held.opened;
    return { output: `report ready: ${task}` };
  });
  // A loopback agent needs the private-network switch, as every agent test here.
  ({ stack, browser } = await startConsole({ MESHAI_ALLOW_PRIVATE_NETWORK: "true", MESHAI_HEALTH_CHECK_INTERVAL: "0" }));
  admin = await browser.newPage();
}, 120_000);

afterAll(async () => {
  held.open();
  await danaMcp?.close().catch(() => undefined);
  await browser?.close();
  await stack?.close();
  await agent?.close();
});

async function press(name: string, page: Page = admin): Promise<void> {
  await Promise.all([page.waitForEvent("framenavigated"), page.getByRole("button", { name, exact: true }).first().click()]);
  await page.waitForLoadState("load");
}

const flash = async () => (await admin.locator(".flash").textContent()) ?? "";

describe("the admin console, end to end: from sign-in to a revoked token the MCP endpoint refuses", { timeout: 120_000 }, () => {
  it("1. the admin opens /admin, signs in on the OAuth login page and lands on the dashboard", async () => {
    await admin.goto(`${stack.issuer}/admin`);
    await admin.waitForURL(/\/oauth\/login\?/);
    expect(await admin.locator("main").textContent()).toContain("the MeshAI console");
    await consoleScreenshot(admin, "scenario-1-login");
    await signInToConsole(admin, stack);
    expect(new URL(admin.url()).pathname).toBe("/admin");
    await consoleScreenshot(admin, "scenario-1-dashboard");
  });

  it("2. creates the user Dana", async () => {
    await admin.goto(`${stack.issuer}/admin/users/new`);
    await admin.getByLabel("Email").fill(DANA.email);
    await admin.getByLabel("Name").fill("Dana");
    await admin.getByLabel("Password").fill(DANA.password);
    await press("Create user");
    expect(await flash()).toContain(`Created user ${DANA.email}`);
    await consoleScreenshot(admin, "scenario-2-user-created");
    expect(await stack.t.core.platform.users.byEmail(DANA.email)).toMatchObject({ name: "Dana", admin: false, disabled: false });
  });

  it("3. registers an agent from the form", async () => {
    await admin.goto(`${stack.issuer}/admin/agents/new`);
    const form = admin.getByRole("form", { name: "Register an agent" });
    await form.getByLabel("Id").fill("scribe");
    await form.getByLabel("Name").fill("Scribe");
    await form.getByLabel("Description").fill("Writes reports");
    await form.getByLabel("Protocol").selectOption("meshai_http");
    await form.getByLabel("Endpoint").fill(agent.url);
    await form.getByLabel("Capabilities").fill("report_writing, text_generation");
    await consoleScreenshot(admin, "scenario-3-agent-form");
    await Promise.all([admin.waitForEvent("framenavigated"), form.getByRole("button", { name: "Register agent" }).click()]);
    await admin.waitForLoadState("load");
    expect(await flash()).toContain("Registered agent Scribe (scribe)");
    await consoleScreenshot(admin, "scenario-3-agent-registered");
  });

  it("4. Dana connects an app and runs a task through the MCP endpoint; the admin watches it stream live", async () => {
    dana = await grantedTokens(stack, DANA, "Dana's assistant", "mcp:read mcp:execute offline_access");
    danaMcp = new Client({ name: "danas-assistant", version: "1.0.0" });
    await danaMcp.connect(new StreamableHTTPClientTransport(new URL(`${stack.issuer}/v1/mcp`), { requestInit: { headers: { authorization: `Bearer ${dana.accessToken}` } } }));
    danaRun = danaMcp.callTool({ name: "mesh_execute", arguments: { task: "write the quarterly report", agents: ["scribe"] } }, undefined, { timeout: 60_000 });
    await agent.waitFor((t) => t.includes("quarterly"));

    await admin.goto(`${stack.issuer}/admin/tasks`);
    const row = admin.locator("tr[data-task]", { hasText: "quarterly" });
    expect(await row.locator(".tag").textContent()).toBe("executing");
    await consoleScreenshot(admin, "scenario-4-tasks");
    await Promise.all([admin.waitForURL(/\/admin\/tasks\/[^/]+$/), row.locator("a").first().click()]);
    await admin.locator("[data-live-status]", { hasText: "Live: following events" }).waitFor();
    expect(await admin.locator("[data-task-state]").textContent()).toBe("executing");
    expect(await admin.locator('tr[data-type="completed"]').count()).toBe(0);
    await consoleScreenshot(admin, "scenario-4-task-running");

    held.open();
    // Appended by the live view as it happens, without a reload.
    await admin.locator('tr[data-type="completed"]').waitFor();
    expect(await admin.locator("[data-task-state]").textContent()).toBe("completed");
    expect(await admin.locator("[data-task-output]").textContent()).toContain("report ready: write the quarterly report");
    await consoleScreenshot(admin, "scenario-4-task-completed");
    const result = (await danaRun) as { isError?: boolean; content: { type: string; text?: string }[] };
    expect(result.isError).toBeFalsy();
    expect(JSON.stringify(result.content)).toContain("report ready");
  });

  it("5. revokes Dana's grant; the MCP endpoint and gRPC then refuse Dana's token", async () => {
    expect(await mcpStatus(stack, dana.accessToken)).toBe(200);
    await admin.goto(`${stack.issuer}/admin/grants?user=${encodeURIComponent(DANA.email)}`);
    const row = admin.locator("table.list tbody tr", { hasText: "Dana's assistant" });
    expect(await row.textContent()).toContain("mcp:execute");
    await consoleScreenshot(admin, "scenario-5-grants");
    await Promise.all([admin.waitForEvent("framenavigated"), row.getByRole("button", { name: "Revoke" }).click()]);
    await admin.waitForLoadState("load");
    await press("Revoke grant");
    expect(await flash()).toContain("Revoked the grant of Dana's assistant for dana@example.com");
    await consoleScreenshot(admin, "scenario-5-revoked");

    // The MCP endpoint reuses a verification for at most a second.
    await expect.poll(() => mcpStatus(stack, dana.accessToken), { timeout: 5000, interval: 250 }).toBe(401);
    await expect(danaMcp.callTool({ name: "list_agents", arguments: {} })).rejects.toThrow();
    expect(await grpcListAgentsCode(stack, dana.accessToken)).toBe(Code.Unauthenticated);
  });

  it("6. Dana, who is not an administrator, is refused the console (403)", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signInToConsole(page, stack, { email: DANA.email, password: DANA.password });
    const res = await page.goto(`${stack.issuer}/admin/users`);
    expect(res?.status()).toBe(403);
    expect(await page.locator("h1").textContent()).toBe("Administrators only");
    await consoleScreenshot(page, "scenario-6-not-admin");
    await context.close();
  });

  it("7. a form posted without its CSRF token is refused (403) and changes nothing", async () => {
    const danaRow = (await stack.t.core.platform.users.byEmail(DANA.email))!;
    const res = await admin.request.post(`${stack.issuer}/admin/users/${danaRow.id}/admin`, { form: { admin: "yes", confirm: "yes" }, maxRedirects: 0 });
    expect(res.status()).toBe(403);
    expect(await res.text()).toContain("csrf_token: missing");
    expect((await stack.t.core.platform.users.byEmail(DANA.email))!.admin).toBe(false);
    await admin.setContent(await res.text());
    await consoleScreenshot(admin, "scenario-7-csrf-refused");
  });
});

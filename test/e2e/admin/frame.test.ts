import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OAuthStack, consoleScreenshot, signInToConsole, startConsole } from "../../support/admin-browser.js";

let stack: OAuthStack;
let browser: Browser;

beforeAll(async () => {
  ({ stack, browser } = await startConsole());
  await stack.addUser("bob@example.com", "bob-password-1");
});
afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

describe("console sign-in goes through the OAuth login page and comes back", () => {
  it("an unauthenticated GET is sent to the login page and, once signed in, back to the page asked for", async () => {
    const page = await browser.newPage();
    await signInToConsole(page, stack, { path: "/admin/users?query=ad" });
    expect(new URL(page.url()).pathname + new URL(page.url()).search).toBe("/admin/users?query=ad");
    await page.goto(`${stack.issuer}/admin`);
    expect(await page.locator("h1").textContent()).toBe("Dashboard");
    await consoleScreenshot(page, "dashboard");
    await page.close();
  });
});

describe("the console is for administrators only", () => {
  it("a signed-in user who is not an administrator gets a 403 page", async () => {
    const page = await browser.newPage();
    await signInToConsole(page, stack, { email: "bob@example.com", password: "bob-password-1" });
    const res = await page.goto(`${stack.issuer}/admin`);
    expect(res?.status()).toBe(403);
    expect(await page.textContent("body")).toContain("Administrators only");
    await consoleScreenshot(page, "not-admin");
    await page.close();
  });
});

describe("console sign-in returns only to console paths", () => {
  it("a next that leaves the console (another host, scheme-relative, dot segments) falls back to /admin", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signInToConsole(page, stack);
    for (const next of ["https://evil.example/", "//evil.example/admin", "/admin/../oauth/logout", "/administrator", "/admin\\evil"]) {
      const res = await context.request.get(`${stack.issuer}/admin/login?next=${encodeURIComponent(next)}`, { maxRedirects: 0 });
      expect(res.status(), next).toBe(303);
      expect(res.headers().location, next).toBe("/admin");
    }
    const kept = await context.request.get(`${stack.issuer}/admin/login?next=${encodeURIComponent("/admin/grants?user=bob%40example.com")}`, { maxRedirects: 0 });
    expect(kept.headers().location).toBe("/admin/grants?user=bob%40example.com");
    await context.close();
  });
});

describe("the dashboard counts what each section lists", () => {
  it("shows users, clients, grants, agents and running tasks, each linking to its section", async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await signInToConsole(page, stack);
    const cards = await page.locator(".cards a").evaluateAll((links) => links.map((a) => [a.getAttribute("href"), a.textContent?.trim()]));
    expect(cards.map(([href]) => href)).toEqual(["/admin/users", "/admin/clients", "/admin/grants", "/admin/agents", "/admin/tasks"]);
    const users = cards[0]![1]!;
    expect(users).toMatch(/^2\s*Users$/);
    await context.close();
  });
});

describe("an unknown console page is a console 404 for an admin, and asks strangers to sign in first", () => {
  it("GET /admin/no-such-page: 404 page in the frame when signed in, redirect to sign-in otherwise", async () => {
    const context = await browser.newContext();
    const anonymous = await context.request.get(`${stack.issuer}/admin/no-such-page`, { maxRedirects: 0 });
    expect(anonymous.status()).toBe(303);
    const page = await context.newPage();
    await signInToConsole(page, stack);
    const res = await page.goto(`${stack.issuer}/admin/no-such-page`);
    expect(res?.status()).toBe(404);
    expect(await page.locator("nav").count()).toBe(1);
    expect(await page.getByRole("alert").textContent()).toContain("There is no console page at /admin/no-such-page");
    await context.close();
  });
});

describe("the console guide is served with the other docs", () => {
  it("/docs/admin renders docs/admin.md with its command and RPC table", async () => {
    const res = await fetch(`${stack.issuer}/docs/admin`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain("The admin console");
    expect(text).toContain("AuthService/CreateConsoleToken");
  });
});

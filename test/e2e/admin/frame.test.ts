import type { Browser, Page } from "playwright-core";
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
    await expect(page.getByRole("heading", { name: "Dashboard" })).toBeTruthy();
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

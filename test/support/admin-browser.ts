import fs from "node:fs";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { ADMIN, type OAuthStack, launchBrowser, startOAuthStack } from "../e2e/oauth/harness.js";

/**
 * The admin console in a real browser: a core and facade on loopback
 * (admin@example.com / admin-password-1 is the administrator), Chromium, and
 * the person's sign-in through the same login page as the OAuth flow.
 *
 * @example
 * const { stack, browser } = await startConsole();
 * const page = await browser.newPage();
 * await signInToConsole(page, stack);            // lands on /admin
 * await page.goto(`${stack.issuer}/admin/users`);
 */
export { ADMIN, type OAuthStack };

export async function startConsole(env: Record<string, string> = {}): Promise<{ stack: OAuthStack; browser: Browser }> {
  const [stack, browser] = await Promise.all([startOAuthStack(env), launchBrowser()]);
  return { stack, browser };
}

/**
 * Opens `path` (default /admin), is sent to the login page, signs in and
 * waits to be back at `path`. Resolves once the console page has loaded.
 */
export async function signInToConsole(
  page: Page,
  stack: Pick<OAuthStack, "issuer">,
  opts: { email?: string; password?: string; path?: string } = {},
): Promise<void> {
  const target = opts.path ?? "/admin";
  await page.goto(`${stack.issuer}${target}`);
  await page.waitForURL(/\/oauth\/login\?/);
  await page.getByLabel("Email").fill(opts.email ?? ADMIN.email);
  await page.getByLabel("Password").fill(opts.password ?? ADMIN.password);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith("/oauth/login")), page.getByRole("button", { name: "Sign in" }).click()]);
}

export const ADMIN_SCREENSHOT_DIR = path.resolve("test-output", "admin");

/** Saves a full-page screenshot under test-output/admin/ (gitignored) for people to look at. */
export async function consoleScreenshot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(ADMIN_SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: path.join(ADMIN_SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}

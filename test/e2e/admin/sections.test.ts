import { Code } from "@connectrpc/connect";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ADMIN,
  type OAuthStack,
  consoleScreenshot,
  coreAuth,
  grantedTokens,
  grpcListAgentsCode,
  mcpStatus,
  signInToConsole,
  startConsole,
} from "../../support/admin-browser.js";

// The console's users, OAuth clients and grants sections in real Chromium (JavaScript off) against a real facade and core.
let stack: OAuthStack;
let browser: Browser;
let page: Page;

const BOB = { email: "bob@example.com", password: "bob-password-1" };

beforeAll(async () => {
  ({ stack, browser } = await startConsole());
  await stack.addUser(BOB.email, BOB.password, { name: "Bob" });
  // JavaScript off: every page and form here must work without it.
  page = await (await browser.newContext({ javaScriptEnabled: false })).newPage();
  await signInToConsole(page, stack);
});
afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

const userRow = (email: string) => stack.t.core.platform.users.byEmail(email);

/** Clicks a submit button and waits for the page the POST lands on (after its 303). */
async function press(name: string | RegExp, p: Page = page): Promise<void> {
  await Promise.all([p.waitForLoadState("load"), p.waitForEvent("framenavigated"), p.getByRole("button", { name, exact: typeof name === "string" }).first().click()]);
  await p.waitForLoadState("load");
}

async function flash(p: Page = page): Promise<string> {
  return (await p.locator(".flash").textContent()) ?? "";
}

/** Signs in through the console's interaction with the core's RPCs: whether this password works. */
async function canLogIn(email: string, password: string): Promise<boolean> {
  const auth = coreAuth(stack);
  const res = await auth.startConsoleSignIn({ next: "/admin" });
  const i = res.next.value as { id: string; csrfToken: string };
  return auth.login({ interactionId: i.id, csrfToken: i.csrfToken, email, password, remoteAddress: "127.0.0.77" }).then(
    () => true,
    () => false,
  );
}

describe("users: create, search, disable and enable, reset password, grant and remove admin", () => {
  it("creates a user from the form and shows their page with a flash message", async () => {
    await page.goto(`${stack.issuer}/admin/users`);
    await consoleScreenshot(page, "users");
    await page.getByRole("link", { name: "Create user" }).click();
    await page.waitForURL(/\/admin\/users\/new$/);
    await page.getByLabel("Email").fill("carol@example.com");
    await page.getByLabel("Name").fill("Carol");
    await page.getByLabel("Password").fill("carol-password-1");
    await consoleScreenshot(page, "user-new");
    await press("Create user");
    expect(await flash()).toContain("Created user carol@example.com");
    expect(await page.locator("h1").textContent()).toBe("carol@example.com");
    await consoleScreenshot(page, "user-detail");
    const carol = await userRow("carol@example.com");
    expect(carol?.name).toBe("Carol");
    expect(carol?.admin).toBe(false);
  });

  it("a form mistake (duplicate email, short password) re-renders the form with the core's message and its status", async () => {
    await page.goto(`${stack.issuer}/admin/users/new`);
    await page.getByLabel("Email").fill("carol@example.com");
    await page.getByLabel("Password").fill("carol-password-1");
    const [dup] = await Promise.all([page.waitForResponse((r) => r.request().method() === "POST"), page.getByRole("button", { name: "Create user" }).click()]);
    expect(dup.status()).toBe(409);
    await page.waitForLoadState("load");
    expect(await page.getByRole("alert").textContent()).toContain("already exists");
    await page.getByLabel("Email").fill("dave@example.com");
    await page.getByLabel("Password").evaluate((el) => el.removeAttribute("minlength"));
    await page.getByLabel("Password").fill("short");
    const [short] = await Promise.all([page.waitForResponse((r) => r.request().method() === "POST"), page.getByRole("button", { name: "Create user" }).click()]);
    expect(short.status()).toBe(400);
    await page.waitForLoadState("load");
    expect(await page.getByRole("alert").textContent()).toContain("password: must be at least 8 characters");
    expect(await userRow("dave@example.com")).toBeUndefined();
  });

  it("searches users by email or name", async () => {
    await page.goto(`${stack.issuer}/admin/users`);
    await page.getByLabel("Search email or name").fill("caro");
    await Promise.all([page.waitForURL(/query=caro/), page.getByRole("button", { name: "Search" }).click()]);
    const emails = await page.locator("table.list tbody td:first-child").allTextContents();
    expect(emails).toEqual(["carol@example.com"]);
  });

  it("disabling asks for confirmation first, then the user can no longer sign in; enabling restores it", async () => {
    const carol = (await userRow("carol@example.com"))!;
    await page.goto(`${stack.issuer}/admin/users/${carol.id}`);
    await press("Disable account");
    expect(await page.locator("h1").textContent()).toBe("Disable carol@example.com?");
    expect((await userRow("carol@example.com"))!.disabled).toBe(false);
    await consoleScreenshot(page, "user-confirm-disable");
    await press("Disable account");
    expect(await flash()).toContain("Disabled carol@example.com");
    expect((await userRow("carol@example.com"))!.disabled).toBe(true);
    expect(await canLogIn("carol@example.com", "carol-password-1")).toBe(false);
    await press("Enable account");
    expect(await flash()).toContain("Enabled carol@example.com");
    expect(await canLogIn("carol@example.com", "carol-password-1")).toBe(true);
  });

  it("resets a password: the new one works, the old one does not", async () => {
    const carol = (await userRow("carol@example.com"))!;
    await page.goto(`${stack.issuer}/admin/users/${carol.id}`);
    await page.getByLabel("New password").fill("carol-new-password-2");
    await press("Reset password");
    expect(await flash()).toContain("Password of carol@example.com reset");
    expect(await canLogIn("carol@example.com", "carol-password-1")).toBe(false);
    expect(await canLogIn("carol@example.com", "carol-new-password-2")).toBe(true);
  });

  it("grants admin (confirmed) and removes it again (confirmed)", async () => {
    const carol = (await userRow("carol@example.com"))!;
    await page.goto(`${stack.issuer}/admin/users/${carol.id}`);
    await press("Make administrator");
    expect(await page.locator("h1").textContent()).toBe("Make carol@example.com an administrator?");
    await press("Make administrator");
    expect(await flash()).toContain("is now an administrator");
    expect((await userRow("carol@example.com"))!.admin).toBe(true);
    await press("Remove admin");
    await press("Remove admin");
    expect(await flash()).toContain("is no longer an administrator");
    expect((await userRow("carol@example.com"))!.admin).toBe(false);
  });

  it("an unknown user is a console 404 page, not a 500", async () => {
    const res = await page.goto(`${stack.issuer}/admin/users/usr_nobody`);
    expect(res?.status()).toBe(404);
    expect(await page.getByRole("alert").textContent()).toContain("not found");
    await consoleScreenshot(page, "error-404");
  });
});

describe("every console form needs its session-bound CSRF token", () => {
  it("a create-user POST without csrf_token is refused with 403 and creates nothing", async () => {
    const res = await page.request.post(`${stack.issuer}/admin/users`, {
      form: { email: "mallory@example.com", password: "mallory-password-1", admin: "yes" },
      maxRedirects: 0,
    });
    expect(res.status()).toBe(403);
    expect(await res.text()).toContain("csrf_token: missing");
    expect(await userRow("mallory@example.com")).toBeUndefined();
  });

  it("a wrong csrf_token is refused with 403 and changes nothing", async () => {
    const bob = (await userRow(BOB.email))!;
    const res = await page.request.post(`${stack.issuer}/admin/users/${bob.id}/admin`, {
      form: { admin: "yes", confirm: "yes", csrf_token: "A".repeat(43) },
      maxRedirects: 0,
    });
    expect(res.status()).toBe(403);
    expect((await userRow(BOB.email))!.admin).toBe(false);
  });

  it("a POST from another origin is refused even with the right token", async () => {
    await page.goto(`${stack.issuer}/admin/users/new`);
    const csrf = await page.locator("input[name=csrf_token]").first().inputValue();
    const res = await page.request.post(`${stack.issuer}/admin/users`, {
      form: { email: "mallory@example.com", password: "mallory-password-1", csrf_token: csrf },
      headers: { origin: "http://evil.example" },
      maxRedirects: 0,
    });
    expect(res.status()).toBe(403);
    expect(await userRow("mallory@example.com")).toBeUndefined();
  });

  it("a POST without a session is 401 and a GET is sent to sign in", async () => {
    const context = await browser.newContext();
    const res = await context.request.post(`${stack.issuer}/admin/users`, { form: { email: "x@example.com" }, maxRedirects: 0 });
    expect(res.status()).toBe(401);
    const get = await context.request.get(`${stack.issuer}/admin/users?query=x`, { maxRedirects: 0 });
    expect(get.status()).toBe(303);
    expect(get.headers().location).toBe("/admin/login?next=%2Fadmin%2Fusers%3Fquery%3Dx");
    await context.close();
  });
});

describe("grants: revoking one makes the user's tokens fail at once on MCP and gRPC", () => {
  it("lists the user's grant with its live refresh token, revokes it after confirmation, and the token is refused", async () => {
    const tokens = await grantedTokens(stack, BOB, "Bob's notes app");
    expect(await mcpStatus(stack, tokens.accessToken)).toBe(200);
    expect(await grpcListAgentsCode(stack, tokens.accessToken)).toBe(0);

    await page.goto(`${stack.issuer}/admin/grants`);
    await page.getByLabel("User (email or id)").fill(BOB.email);
    await Promise.all([page.waitForURL(/user=bob/), page.getByRole("button", { name: "Filter" }).click()]);
    const row = page.locator("table.list tbody tr", { hasText: "Bob's notes app" });
    expect(await row.locator("td").nth(3).textContent()).toBe("1");
    await consoleScreenshot(page, "grants");
    await Promise.all([page.waitForEvent("framenavigated"), row.getByRole("button", { name: "Revoke" }).click()]);
    await page.waitForLoadState("load");
    await consoleScreenshot(page, "grant-confirm-revoke");
    await press("Revoke grant");
    expect(await flash()).toContain("Revoked the grant of Bob's notes app for bob@example.com");
    expect(await page.locator("table.list tbody").textContent()).toContain("No active grants");

    // The MCP endpoint caches a verification for at most a second.
    await expect.poll(() => mcpStatus(stack, tokens.accessToken), { timeout: 5000, interval: 250 }).toBe(401);
    expect(await grpcListAgentsCode(stack, tokens.accessToken)).toBe(Code.Unauthenticated);
    const refreshed = await fetch(`${stack.issuer}/oauth/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: tokens.refreshToken, client_id: tokens.clientId }),
    });
    expect(refreshed.status).toBe(400);
  });

  it("a user filter naming nobody shows no grants and says why (not an error page)", async () => {
    const res = await page.goto(`${stack.issuer}/admin/grants?user=nobody%40example.com`);
    expect(res?.status()).toBe(200);
    expect(await page.getByRole("alert").textContent()).toContain("user nobody@example.com not found");
    expect(await page.getByRole("button", { name: /Revoke all/ }).count()).toBe(0);
  });

  it("revokes all of a user's grants at once", async () => {
    const a = await grantedTokens(stack, BOB, "App one");
    const b = await grantedTokens(stack, BOB, "App two");
    await page.goto(`${stack.issuer}/admin/grants?user=${encodeURIComponent(BOB.email)}`);
    await press(`Revoke all grants of ${BOB.email}`);
    await press("Revoke all");
    expect(await flash()).toContain("Revoked 2 grants of bob@example.com");
    expect(await grpcListAgentsCode(stack, a.accessToken)).toBe(Code.Unauthenticated);
    expect(await grpcListAgentsCode(stack, b.accessToken)).toBe(Code.Unauthenticated);
  });
});

describe("OAuth clients: list with redirect URIs and how registered; delete takes grants and tokens along", () => {
  it("shows a self-registered client, its detail, and deleting it (confirmed) revokes its tokens", async () => {
    const tokens = await grantedTokens(stack, BOB, "Doomed client");
    await page.goto(`${stack.issuer}/admin/clients`);
    const row = page.locator("table.list tbody tr", { hasText: "Doomed client" });
    expect(await row.textContent()).toContain("http://127.0.0.1:7777/callback");
    expect(await row.textContent()).toContain("Dynamic registration (DCR)");
    await consoleScreenshot(page, "clients");
    await Promise.all([page.waitForURL(/\/admin\/clients\/.+/), row.getByRole("link", { name: "Doomed client" }).click()]);
    expect(await page.locator("dl.facts").textContent()).toContain(tokens.clientId);
    await consoleScreenshot(page, "client-detail");
    await press("Delete client");
    expect(await page.locator("h1").textContent()).toBe("Delete Doomed client?");
    await press("Delete client");
    expect(await flash()).toContain("Deleted Doomed client");
    expect(await page.locator("table.list").textContent()).not.toContain("Doomed client");
    expect(await grpcListAgentsCode(stack, tokens.accessToken)).toBe(Code.Unauthenticated);
    await expect.poll(() => mcpStatus(stack, tokens.accessToken), { timeout: 5000, interval: 250 }).toBe(401);
  });
});

describe("client ids that are URLs (metadata documents) travel in the path encoded", () => {
  it("/admin/clients/<encoded URL> reaches GetClient with the decoded id (404 naming it when unknown)", async () => {
    const id = "https://apps.example.com/oauth/client.json";
    const res = await page.goto(`${stack.issuer}/admin/clients/${encodeURIComponent(id)}`);
    expect(res?.status()).toBe(404);
    expect(await page.getByRole("alert").textContent()).toContain(`client ${id} not found`);
  });
});

describe("lists page through their results", () => {
  it("users come 25 to a page with Next page and First page links", async () => {
    for (let i = 0; i < 26; i++) await stack.t.core.platform.users.insert({
      id: `usr_page${String(i).padStart(2, "0")}`,
      email: `pager${String(i).padStart(2, "0")}@example.com`,
      name: "",
      passwordHash: "x",
      admin: false,
      disabled: false,
      createdAt: Date.now() + i,
      updatedAt: Date.now() + i,
      lastLoginAt: null,
    });
    await page.goto(`${stack.issuer}/admin/users?query=pager`);
    expect(await page.locator("table.list tbody tr").count()).toBe(25);
    await Promise.all([page.waitForURL(/page_token=/), page.getByRole("link", { name: "Next page" }).click()]);
    expect(await page.locator("table.list tbody td:first-child").allTextContents()).toEqual(["pager25@example.com"]);
    expect(await page.getByRole("link", { name: "Next page" }).count()).toBe(0);
    await Promise.all([page.waitForURL((u) => !u.search.includes("page_token")), page.getByRole("link", { name: "First page" }).click()]);
    expect(await page.locator("table.list tbody tr").count()).toBe(25);
  });
});

describe("OAuth clients added by an administrator, and revoking every grant to one client", () => {
  it("shows how the client was registered, and 'revoke all grants to this client' ends that client's tokens only", async () => {
    await stack.t.core.platform.oauth.registry.createByAdmin({
      client_name: "Ops dashboard",
      redirect_uris: ["http://127.0.0.1:7777/callback"],
      token_endpoint_auth_method: "none",
      grant_types: ["authorization_code", "refresh_token"],
    });
    await page.goto(`${stack.issuer}/admin/clients`);
    expect(await page.locator("table.list tbody tr", { hasText: "Ops dashboard" }).textContent()).toContain("Added by an administrator");
    const carol = { email: "carol@example.com", password: "carol-new-password-2" };
    const a = await grantedTokens(stack, BOB, "Shared app");
    const b = await grantedTokens(stack, carol, "Shared app");
    await page.goto(`${stack.issuer}/admin/grants?client_id=${encodeURIComponent(a.clientId)}`);
    expect(await page.locator("table.list tbody tr").count()).toBe(1);
    await press("Revoke all grants to this client");
    await press("Revoke all");
    expect(await flash()).toContain("Revoked 1 grant to client");
    expect(await grpcListAgentsCode(stack, a.accessToken)).toBe(Code.Unauthenticated);
    // Another client's grant is untouched.
    expect(await grpcListAgentsCode(stack, b.accessToken)).toBe(0);
  });
});

describe("losing admin standing ends console access on the next request", () => {
  it("an administrator whose admin flag is removed gets 403 on the next page; once disabled, they are sent to sign in", async () => {
    await stack.addUser("eve@example.com", "eve-password-1", { admin: true });
    const context = await browser.newContext();
    const eve = await context.newPage();
    await signInToConsole(eve, stack, { email: "eve@example.com", password: "eve-password-1", path: "/admin/users" });
    expect((await eve.goto(`${stack.issuer}/admin/users`))?.status()).toBe(200);
    await stack.t.core.platform.accounts.update("eve@example.com", { admin: false });
    expect((await eve.goto(`${stack.issuer}/admin/users`))?.status()).toBe(403);
    await stack.t.core.platform.accounts.update("eve@example.com", { admin: true, disabled: true });
    await eve.goto(`${stack.issuer}/admin/users`);
    expect(new URL(eve.url()).pathname).toBe("/oauth/login");
    await context.close();
  });
});

describe("signing out ends the session shared with the OAuth pages", () => {
  it("the Sign out button ends the session and the console asks to sign in again", async () => {
    const context = await browser.newContext();
    const p = await context.newPage();
    await signInToConsole(p, stack, { email: ADMIN.email, password: ADMIN.password });
    await press("Sign out", p);
    expect(new URL(p.url()).pathname).toBe("/oauth/logout");
    expect(await p.locator("h1").textContent()).toContain("signed out");
    await p.goto(`${stack.issuer}/admin`);
    expect(new URL(p.url()).pathname).toBe("/oauth/login");
    await context.close();
  });

  it("GET /admin/logout only shows a Sign out button; pressing it signs out", async () => {
    const context = await browser.newContext();
    const p = await context.newPage();
    await signInToConsole(p, stack);
    await p.goto(`${stack.issuer}/admin/logout`);
    expect(await p.locator("h1").textContent()).toBe("Sign out of MeshAI?");
    expect((await p.goto(`${stack.issuer}/admin`))?.status()).toBe(200);
    await p.goto(`${stack.issuer}/admin/logout`);
    await press("Sign out", p);
    expect(await p.locator("h1").textContent()).toContain("signed out");
    await context.close();
  });
});

describe("a form on another site cannot act in the console", () => {
  it("a real cross-site form POST (another origin, in Chromium) changes nothing", async () => {
    // The attacker's page, on localhost (another site than the console's 127.0.0.1), posts a create-user form.
    const http = await import("node:http");
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(`<!doctype html><form method="post" action="${stack.issuer}/admin/users"><input name="email" value="forged@example.com"><input name="password" value="forged-password-1"><input name="admin" value="yes"><input name="csrf_token" value="guess"><button>Go</button></form>`);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    try {
      await page.goto(`http://localhost:${port}/`);
      const [res] = await Promise.all([page.waitForResponse((r) => r.url().startsWith(`${stack.issuer}/admin/users`)), page.getByRole("button", { name: "Go" }).click()]);
      // SameSite=Lax keeps the session cookie off a cross-site POST; were it sent, Sec-Fetch-Site and the token refuse it.
      expect([401, 403]).toContain(res.status());
      expect(await userRow("forged@example.com")).toBeUndefined();
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe("console pages carry the same security headers as the sign-in pages", () => {
  it("CSP default-src 'self', no framing, no referrer, never cached", async () => {
    const res = await page.request.get(`${stack.issuer}/admin/users`);
    const h = res.headers();
    expect(h["content-security-policy"]).toContain("default-src 'self'");
    expect(h["content-security-policy"]).toContain("frame-ancestors 'none'");
    expect(h["x-frame-options"]).toBe("DENY");
    expect(h["referrer-policy"]).toBe("no-referrer");
    expect(h["cache-control"]).toBe("no-store");
    expect(await res.text()).not.toMatch(/<script|https?:\/\/(?!127\.0\.0\.1)/);
  });
});

import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { loadConfig } from "../../../src/config.js";
import { type RunningFacade, startFacade } from "../../../src/facade/server.js";
import { facadeCoreLink, type TestCore, startTestCore } from "../../support/core.js";

/**
 * A real core and a real facade on loopback whose issuer is the facade's own
 * URL, so a browser and a relying party can follow every link the server
 * hands out. The admin is admin@example.com / admin-password-1.
 */
export interface OAuthStack {
  t: TestCore;
  facade: RunningFacade;
  /** `http://127.0.0.1:<facade port>`: issuer and base URL alike. */
  issuer: string;
  /** `<issuer>/v1/mcp` */
  mcpResource: string;
  /** Creates a user (not an admin unless asked) that can sign in with `password`. */
  addUser(email: string, password: string, opts?: { admin?: boolean; name?: string }): Promise<void>;
  close(): Promise<void>;
}

export const ADMIN = { email: "admin@example.com", password: "admin-password-1" };

/** A port the kernel just handed out and released: the facade needs it before it starts, for its issuer. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startOAuthStack(env: Record<string, string> = {}): Promise<OAuthStack> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const t = await startTestCore({ MESHAI_ISSUER: issuer, MESHAI_HTTP_PORT: String(port), ...env });
  const config = loadConfig({
    MESHAI_DATA_DIR: t.config.dataDir,
    MESHAI_HOST: "127.0.0.1",
    MESHAI_HTTP_PORT: String(port),
    MESHAI_GRPC_PORT: "0",
    MESHAI_ISSUER: issuer,
    MESHAI_CORE_URL: t.core.url,
    MESHAI_LOG_LEVEL: "silent",
    ...env,
  });
  const facade = await startFacade(config, facadeCoreLink(t), { graceMs: 200 });
  return {
    t,
    facade,
    issuer,
    mcpResource: `${issuer}/v1/mcp`,
    async addUser(email, password, opts = {}) {
      await t.core.platform.accounts.create({ email, password, name: opts.name ?? email.split("@")[0]!, admin: opts.admin ?? false });
    },
    async close() {
      await facade.close();
      await t.close();
    },
  };
}

/**
 * A client's loopback web server: `/` is a page with a link to the
 * authorization URL (so the browser arrives at the authorization server
 * cross-site, as from a real app), `/callback` records every redirect back.
 * Reached as `localhost`, a different site from the issuer's 127.0.0.1.
 */
export interface ClientSite {
  origin: string;
  redirectUri: string;
  /** Sets the URL the start page links to. */
  linkTo(url: string): void;
  /** Every URL the browser was sent back to, in order. */
  callbacks: URL[];
  /** Extra JSON documents to serve (e.g. a Client ID Metadata Document), by path. */
  documents: Map<string, unknown>;
  close(): Promise<void>;
}

export async function startClientSite(): Promise<ClientSite> {
  let link = "about:blank";
  const callbacks: URL[] = [];
  const documents = new Map<string, unknown>();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", `http://${req.headers.host ?? "localhost"}`);
    if (url.pathname === "/callback") {
      callbacks.push(url);
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end("<!doctype html><title>Back at the app</title><h1>Back at the app</h1>");
      return;
    }
    if (documents.has(url.pathname)) {
      res.writeHead(200, { "content-type": "application/json", "cache-control": "max-age=60" });
      res.end(JSON.stringify(documents.get(url.pathname)));
      return;
    }
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(`<!doctype html><title>Example app</title><a id="connect" href="${link.replace(/"/g, "&quot;")}">Connect MeshAI</a>`);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  const origin = `http://localhost:${port}`;
  return {
    origin,
    redirectUri: `${origin}/callback`,
    linkTo: (url) => void (link = url),
    callbacks,
    documents,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Chromium as the tests here may launch it (see COMMON.md): headless, no network beyond loopback. */
export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

export const SCREENSHOT_DIR = path.resolve("test-output", "oauth");

/** Saves a full-page screenshot under test-output/oauth/ (gitignored) for people to look at. */
export async function screenshot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}

/**
 * The person's part of the flow, in a real browser: start at the client's
 * page, follow its link to the authorization server, fill the labelled
 * sign-in form (if asked), then press Allow (or Deny) on the consent page.
 * Resolves with the URL the browser lands on back at the client.
 */
export async function signInAndDecide(
  page: Page,
  site: ClientSite,
  authorizationUrl: string,
  opts: { email?: string; password?: string; decision?: "Allow" | "Deny"; screenshots?: string } = {},
): Promise<URL> {
  site.linkTo(authorizationUrl);
  const before = site.callbacks.length;
  await page.goto(site.origin);
  await Promise.all([page.waitForURL(/\/oauth\/(login|consent)|\/callback/), page.click("#connect")]);
  if (new URL(page.url()).pathname === "/oauth/login") {
    if (opts.screenshots) await screenshot(page, `${opts.screenshots}-login`);
    await page.getByLabel("Email").fill(opts.email ?? ADMIN.email);
    await page.getByLabel("Password").fill(opts.password ?? ADMIN.password);
    await Promise.all([page.waitForURL(/\/oauth\/consent|\/callback/), page.getByRole("button", { name: "Sign in" }).click()]);
  }
  if (new URL(page.url()).pathname === "/oauth/consent") {
    if (opts.screenshots) await screenshot(page, `${opts.screenshots}-consent`);
    await Promise.all([
      page.waitForURL(/\/callback/),
      page.getByRole("button", { name: opts.decision ?? "Allow" }).click(),
    ]);
  }
  if (site.callbacks.length <= before) throw new Error(`the browser did not come back to the client; it is at ${page.url()}`);
  return site.callbacks[site.callbacks.length - 1]!;
}

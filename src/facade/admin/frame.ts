import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Context, Middleware } from "koa";
import type { User } from "../../../gen/meshai/v1/auth_pb.js";
import type { RouteDeps } from "../app.js";
import type { ServerErrorLog } from "../error-handler.js";
import { HttpError, classifyError, retryAfterOf } from "../errors.js";
import { type Cookies, createCookies } from "../oauth/cookies.js";
import { formOf } from "../oauth/params.js";
import { noStore } from "../oauth/responses.js";
import { Html, html } from "../pages/html.js";
import { pageHead } from "../pages/layout.js";
import { STYLESHEET_ASSET } from "../pages/stylesheet.js";
import { CONSOLE_STYLESHEET_ASSET } from "./assets.js";
import { type AdminContext, type ConsoleKit, type ConsoleSection, adminOf } from "./kit.js";

/** The flash message of the next page, bound to the session (see `flashMac`). */
const FLASH_COOKIE = "meshai_console_flash";
const MAX_FLASH = 300;
/** A console token is reused until this long before it expires (tokens live 180 s: cached at most 120 s). */
const TOKEN_REFRESH_MARGIN_MS = 60_000;
const MAX_CACHED_TOKENS = 10_000;

const NAV: { section: ConsoleSection | "dashboard"; href: string; label: string }[] = [
  { section: "dashboard", href: "/admin", label: "Dashboard" },
  { section: "users", href: "/admin/users", label: "Users" },
  { section: "clients", href: "/admin/clients", label: "OAuth clients" },
  { section: "grants", href: "/admin/grants", label: "Grants & tokens" },
  { section: "agents", href: "/admin/agents", label: "Agents" },
  { section: "tasks", href: "/admin/tasks", label: "Tasks & workflows" },
];

/** The session-bound CSRF token: only someone who can read the HttpOnly session cookie can compute it. */
export function consoleCsrfToken(sessionToken: string): string {
  return createHash("sha256").update(`meshai-console-csrf:${sessionToken}`).digest("base64url");
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function flashMac(csrf: string, message: string): string {
  return createHmac("sha256", csrf).update(`flash:${message}`).digest("base64url").slice(0, 22);
}

/** A local console path (never another origin): what `done` and sign-in may send the browser to. */
export function isConsolePath(path: string): boolean {
  const pathname = path.split("?")[0]!;
  return /^\/admin(?:[/?]|$)/.test(path) && !/[\\\s#]|\/\//.test(path) && !/\/\.\.?(\/|$)/.test(pathname) && path.length <= 1000;
}

/** A timestamp as the console shows it: UTC, to the minute ("—" when absent). */
export function when(t: { seconds: bigint; nanos: number } | undefined): string {
  if (!t) return "—";
  return new Date(timestampMs(t as Parameters<typeof timestampMs>[0])).toISOString().slice(0, 16).replace("T", " ") + " UTC";
}

/**
 * Told of every console action that succeeded: who (the admin's user id),
 * what (method and path) and the message shown. Never a token or password:
 * form fields are not passed.
 */
export type ConsoleAudit = (entry: { adminUserId: string; method: string; path: string; message: string }) => void;

/** Everything the console's own routes (sign-in, sign-out, dashboard) need beyond the kit. */
export interface ConsoleFrame extends ConsoleKit {
  cookies: Cookies;
  /** `render` for any page of the frame, the dashboard included. */
  page(ctx: Context, page: { title: string; section?: ConsoleSection | "dashboard"; body: Html; status?: number }): void;
  /** Forgets the cached console token of a session (sign-out). */
  forget(sessionToken: string): void;
  /** Renders a failure as a console page with the status of the error table. */
  renderError(ctx: Context, err: unknown): void;
}

interface CachedToken {
  token: string;
  userId: string;
  /** Reuse until then (epoch ms). */
  until: number;
}

/**
 * The console's frame: sign-in check, the admin's short-lived core token,
 * CSRF, flash messages and the page chrome around every section.
 */
export function createConsoleFrame({ config, core }: RouteDeps, log: ServerErrorLog, audit: ConsoleAudit = () => {}): ConsoleFrame {
  const cookies = createCookies(config);
  const issuerOrigin = new URL(config.issuer).origin;
  const secure = config.issuer.startsWith("https:");
  const tokens = new Map<string, CachedToken>();
  const keyOf = (sessionToken: string) => createHash("sha256").update(sessionToken).digest("base64url");

  /** The admin's console token, from the cache while it has more than a minute left. */
  async function consoleToken(sessionToken: string, user: User): Promise<string> {
    const key = keyOf(sessionToken);
    const hit = tokens.get(key);
    if (hit && hit.until > Date.now() && hit.userId === user.id) return hit.token;
    const res = await core.auth.createConsoleToken({ sessionToken });
    const expires = res.expireTime ? Number(timestampMs(res.expireTime)) : Date.now();
    if (tokens.size >= MAX_CACHED_TOKENS) tokens.delete(tokens.keys().next().value!);
    tokens.delete(key);
    tokens.set(key, { token: res.accessToken, userId: user.id, until: expires - TOKEN_REFRESH_MARGIN_MS });
    return res.accessToken;
  }

  function setFlash(ctx: Context, csrf: string, message: string): void {
    const text = message.slice(0, MAX_FLASH);
    const value = `${Buffer.from(text).toString("base64url")}.${flashMac(csrf, text)}`;
    ctx.append("Set-Cookie", `${FLASH_COOKIE}=${value}; Path=/admin; HttpOnly; SameSite=Strict${secure ? "; Secure" : ""}`);
  }

  /** Reads and clears the flash message; one set for another session (or forged) is dropped. */
  function takeFlash(ctx: Context, csrf: string | undefined): string | undefined {
    const raw = ctx.cookies.get(FLASH_COOKIE);
    if (!raw) return undefined;
    ctx.append("Set-Cookie", `${FLASH_COOKIE}=; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=0${secure ? "; Secure" : ""}`);
    const m = /^([A-Za-z0-9_-]{0,2000})\.([A-Za-z0-9_-]{22})$/.exec(raw);
    if (!m || !csrf) return undefined;
    const text = Buffer.from(m[1]!, "base64url").toString("utf8");
    return sameSecret(flashMac(csrf, text), m[2]!) ? text : undefined;
  }

  function shell(ctx: Context, p: { title: string; section?: ConsoleSection | "dashboard"; body: Html; status?: number }): void {
    const admin = (ctx.state as { admin?: AdminContext }).admin;
    const flash = admin ? takeFlash(ctx, admin.csrfToken) : undefined;
    noStore(ctx);
    ctx.status = p.status ?? 200;
    ctx.type = "text/html; charset=utf-8";
    ctx.body = html`<!doctype html>
<html lang="en">
${pageHead(`${p.title} · MeshAI console`, [STYLESHEET_ASSET.url, CONSOLE_STYLESHEET_ASSET.url])}
<body class="console">
<header>
<a class="brand" href="/admin"><span class="brand-mark" aria-hidden="true">M</span><span>MeshAI console</span></a>
${admin
  ? html`<nav aria-label="Console"><ul>${NAV.map(
      (n) => html`<li><a href="${n.href}"${n.section === p.section ? html` aria-current="page"` : null}>${n.label}</a></li>`,
    )}</ul></nav>
<div class="who"><span>${admin.user.email}</span><form method="post" action="/admin/logout">${csrfInput(admin.csrfToken)}<button type="submit" class="secondary small">Sign out</button></form></div>`
  : null}
</header>
<main>
${flash ? html`<p class="flash" role="status">${flash}</p>` : null}
${p.body}
</main>
</body>
</html>
`.value;
  }

  const csrfInput = (token: string) => html`<input type="hidden" name="csrf_token" value="${token}">`;

  const TITLES: Record<number, string> = {
    400: "That request cannot be done",
    401: "Sign in again",
    403: "Not allowed",
    404: "Not found",
    409: "Conflict",
    429: "Too many requests",
  };

  function renderError(ctx: Context, err: unknown): void {
    const c = classifyError(err);
    const retryAfter = retryAfterOf(err);
    if (retryAfter) ctx.set("Retry-After", retryAfter);
    const requestId = ctx.state.requestId as string | undefined;
    const title = c.status >= 500 ? "Something went wrong" : (TITLES[c.status] ?? "That request cannot be done");
    shell(ctx, {
      title,
      status: c.status,
      body: html`<h1>${title}</h1>
<p class="alert" role="alert">${c.description}</p>
${c.status === 401 ? html`<p><a class="button" href="/admin/login">Sign in</a></p>` : html`<p><a href="/admin">Back to the dashboard</a></p>`}
<dl class="facts"><dt>Error</dt><dd><code>${c.oauth}</code></dd>${requestId ? html`<dt>Request</dt><dd><code>${requestId}</code></dd>` : null}</dl>`,
    });
    if (c.status >= 500) log(err, ctx);
  }

  /** Not signed in: a page GET goes to sign-in and comes back; anything else is 401. */
  function signInFirst(ctx: Context): void {
    if (ctx.method === "GET" || ctx.method === "HEAD") {
      noStore(ctx);
      ctx.status = 303;
      ctx.redirect(`/admin/login?next=${encodeURIComponent(ctx.originalUrl)}`);
      return;
    }
    shell(ctx, {
      title: "Sign in again",
      status: 401,
      body: html`<h1>Sign in again</h1>
<p class="alert" role="alert">Your sign-in session has ended, so nothing was changed. Sign in and try again.</p>
<p><a class="button" href="/admin/login">Sign in</a></p>`,
    });
  }

  function notAdmin(ctx: Context, user: User, sessionToken: string): void {
    shell(ctx, {
      title: "Administrators only",
      status: 403,
      body: html`<h1>Administrators only</h1>
<p class="alert" role="alert">You are signed in as ${user.email}, who is not a MeshAI administrator. The console is for administrators only.</p>
<p class="muted">Sign out to sign in with another account.</p>
<form method="post" action="/admin/logout">${csrfInput(consoleCsrfToken(sessionToken))}<div class="actions"><button type="submit">Sign out</button></div></form>`,
    });
  }

  /**
   * Cross-site POSTs are refused before the CSRF token is even looked at.
   * `Sec-Fetch-Site` decides when the browser sends it. `Origin` is checked
   * otherwise, except "null": our `Referrer-Policy: no-referrer` makes
   * browsers send `Origin: null` on our own form posts.
   */
  function crossSite(ctx: Context): boolean {
    const site = ctx.get("sec-fetch-site");
    if (site) return site !== "same-origin" && site !== "none";
    const origin = ctx.get("origin");
    // Our own origin as the browser saw it: the issuer, or this request's scheme and Host (never Koa's
    // ctx.origin, which echoes the request's Origin header in Koa 3).
    return !!origin && origin !== "null" && origin !== issuerOrigin && origin !== `${ctx.protocol}://${ctx.host}`;
  }

  const requireAdmin: Middleware = async (ctx, next) => {
    try {
      const sessionToken = cookies.session(ctx);
      if (!sessionToken) return signInFirst(ctx);
      let user: User | undefined;
      try {
        ({ user } = await core.auth.getLoginSession({ sessionToken }));
      } catch (e) {
        if (ConnectError.from(e).code === Code.Unauthenticated) {
          tokens.delete(keyOf(sessionToken));
          return signInFirst(ctx);
        }
        throw e;
      }
      if (!user) return signInFirst(ctx);
      if (!user.admin) {
        tokens.delete(keyOf(sessionToken));
        return notAdmin(ctx, user, sessionToken);
      }
      let token: string;
      try {
        token = await consoleToken(sessionToken, user);
      } catch (e) {
        const code = ConnectError.from(e).code;
        if (code === Code.Unauthenticated) return signInFirst(ctx);
        if (code === Code.PermissionDenied) return notAdmin(ctx, user, sessionToken);
        throw e;
      }
      const admin: AdminContext = {
        user,
        call: { headers: { authorization: `Bearer ${token}` } },
        csrfToken: consoleCsrfToken(sessionToken),
      };
      (ctx.state as { admin?: AdminContext }).admin = admin;
      try {
        await next();
      } catch (e) {
        // The cached token was refused (expired in flight, revoked): the next request mints another.
        if (e instanceof ConnectError && e.code === Code.Unauthenticated) tokens.delete(keyOf(sessionToken));
        throw e;
      }
    } catch (err) {
      if (ctx.headerSent || !ctx.writable) {
        log(err, ctx);
        return;
      }
      renderError(ctx, err);
    }
  };

  return {
    cookies,
    requireAdmin,
    page: shell,
    render: (ctx, p) => shell(ctx, p),
    renderError,
    forget: (sessionToken) => void tokens.delete(keyOf(sessionToken)),

    csrfField(ctx) {
      return csrfInput(adminOf(ctx).csrfToken);
    },

    form(ctx) {
      const admin = adminOf(ctx);
      if (crossSite(ctx)) throw new HttpError(403, "access_denied", "This form was sent from another site, so nothing was changed.");
      const form = formOf(ctx);
      const field = form.csrf_token;
      if (typeof field !== "string" || !field) {
        throw new HttpError(403, "access_denied", "csrf_token: missing from the form, so nothing was changed. Reload the page and try again.");
      }
      if (!sameSecret(field, admin.csrfToken)) {
        throw new HttpError(403, "access_denied", "csrf_token: does not match your sign-in, so nothing was changed. Reload the page and try again.");
      }
      const out: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(form)) if (v !== undefined && k !== "csrf_token") out[k] = v;
      return out;
    },

    done(ctx, path, message) {
      if (!isConsolePath(path)) throw new Error(`done: ${path} is not a console path`);
      const admin = adminOf(ctx);
      setFlash(ctx, admin.csrfToken, message);
      audit({ adminUserId: admin.user.id, method: ctx.method, path: ctx.path, message });
      noStore(ctx);
      ctx.status = 303;
      ctx.redirect(path);
    },
  };
}

import { timingSafeEqual } from "node:crypto";
import type { Context } from "koa";
import type { Config } from "../../config.js";

/** The login session: value minted by the core (only its hash is stored there). */
export const SESSION_COOKIE = "meshai_session";
/** The interaction's CSRF token, double-submitted with the form's `csrf_token` field. */
export const CSRF_COOKIE = "meshai_csrf";

/** Cookie values the core mints are base64url; anything else is refused rather than quoted. */
const COOKIE_VALUE = /^[A-Za-z0-9\-._~]{1,512}$/;

interface CookieOptions {
  path: string;
  sameSite: "Lax" | "Strict";
  secure: boolean;
  /** Absent: a browser-session cookie. */
  expires?: Date;
}

function serialize(name: string, value: string, o: CookieOptions): string {
  let out = `${name}=${value}; Path=${o.path}; HttpOnly; SameSite=${o.sameSite}`;
  if (o.expires) out += `; Expires=${o.expires.toUTCString()}`;
  if (o.secure) out += "; Secure";
  return out;
}

/**
 * Writes Set-Cookie by hand rather than through Koa's `ctx.cookies`, which
 * refuses `Secure` on a plain-http socket: behind a TLS-terminating proxy the
 * issuer is https while the socket is not, and the cookie must still be Secure.
 */
function setCookie(ctx: Context, name: string, value: string, o: CookieOptions): void {
  if (!COOKIE_VALUE.test(value)) throw new Error(`refusing to set ${name}: value is not cookie-safe`);
  ctx.append("Set-Cookie", serialize(name, value, o));
}

function clearCookie(ctx: Context, name: string, o: Omit<CookieOptions, "expires">): void {
  ctx.append("Set-Cookie", `${serialize(name, "", { ...o, expires: new Date(0) })}; Max-Age=0`);
}

/** Cookie helpers bound to the issuer: Secure whenever the issuer is https. */
export function createCookies(config: Pick<Config, "issuer">) {
  const secure = config.issuer.startsWith("https:");
  // Lax, not Strict: the login page is reached by a redirect chain that starts on the
  // client's site, and browsers withhold Strict cookies on such navigations. Lax still
  // keeps the cookie off cross-site POSTs, which is what double-submit CSRF needs.
  const csrf = { path: "/oauth", sameSite: "Lax", secure } as const;
  const session = { path: "/", sameSite: "Lax", secure } as const;

  return {
    session(ctx: Context): string | undefined {
      const v = ctx.cookies.get(SESSION_COOKIE);
      return v && COOKIE_VALUE.test(v) ? v : undefined;
    },
    setSession(ctx: Context, token: string, expires: Date | undefined): void {
      setCookie(ctx, SESSION_COOKIE, token, { ...session, expires });
    },
    clearSession(ctx: Context): void {
      clearCookie(ctx, SESSION_COOKIE, session);
    },
    csrf(ctx: Context): string | undefined {
      const v = ctx.cookies.get(CSRF_COOKIE);
      return v && COOKIE_VALUE.test(v) ? v : undefined;
    },
    setCsrf(ctx: Context, token: string, expires: Date | undefined): void {
      setCookie(ctx, CSRF_COOKIE, token, { ...csrf, expires });
    },
    clearCsrf(ctx: Context): void {
      clearCookie(ctx, CSRF_COOKIE, csrf);
    },
  };
}

export type Cookies = ReturnType<typeof createCookies>;

/** Double-submit check: the cookie and the form field are present and equal (constant time). */
export function sameToken(cookie: string | undefined, field: string | undefined): boolean {
  if (!cookie || !field) return false;
  const a = Buffer.from(cookie);
  const b = Buffer.from(field);
  return a.length === b.length && timingSafeEqual(a, b);
}

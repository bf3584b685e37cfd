import type { Router } from "@koa/router";
import type { CallOptions } from "@connectrpc/connect";
import type { Context, Middleware } from "koa";
import type { User } from "../../../gen/meshai/v1/auth_pb.js";
import type { RouteDeps } from "../app.js";
import type { Html } from "../pages/html.js";

/** The console's sections, in the order of its navigation bar. */
export type ConsoleSection = "users" | "clients" | "grants" | "agents" | "tasks";

/** Who is using the console, set on `ctx.state.admin` by `requireAdmin`. */
export interface AdminContext {
  user: User;
  /** Pass to every core call: carries the admin's short-lived console token. */
  call: CallOptions;
  /** The session-bound CSRF token every form must post back as `csrf_token`. */
  csrfToken: string;
}

/** What the console's frame gives each section's pages. */
export interface ConsoleKit {
  /**
   * Lets only a signed-in administrator through and sets `ctx.state.admin`.
   * No session: GET is redirected to sign in (and back); other methods get 401.
   * Signed in but not an admin: 403 page.
   */
  requireAdmin: Middleware;
  /** Sends a whole console page (navigation, flash message, the section's body). */
  render(ctx: Context, page: { title: string; section: ConsoleSection; body: Html; status?: number }): void;
  /** The hidden `csrf_token` input every form carries. */
  csrfField(ctx: Context): Html;
  /** The POSTed form after its CSRF token is checked (403 page when missing or wrong). */
  form(ctx: Context): Record<string, string | string[]>;
  /** Ends a successful POST: 303 to `path`, showing `message` once on the next page. */
  done(ctx: Context, path: string, message: string): void;
}

/** One section's routes, mounted under /admin by the console's router. */
export type ConsoleRoutes = (router: Router, deps: RouteDeps, kit: ConsoleKit) => void;

/** The admin of the current request (after `requireAdmin`). */
export function adminOf(ctx: Context): AdminContext {
  const a = (ctx.state as { admin?: AdminContext }).admin;
  if (!a) throw new Error("adminOf: route is not behind requireAdmin");
  return a;
}

import type { Context } from "koa";
import type { FormBody } from "../body.js";
import { HttpError } from "../errors.js";

/** Request parameters by name, each a string or (when repeated) an array. */
export type Params = Record<string, string | string[] | undefined>;

/**
 * The urlencoded body of a POST. OAuth endpoints take only forms (RFC 6749
 * 3.2), so any other content type is the client's mistake.
 */
export function formOf(ctx: Context): Params {
  if (ctx.request.rawBody === undefined) return {};
  if (!ctx.is("urlencoded")) {
    throw new HttpError(400, "invalid_request", "request body must be application/x-www-form-urlencoded");
  }
  return (ctx.request.body ?? {}) as FormBody;
}

/** The query string, with repeated names kept as arrays (as the body parser keeps forms). */
export function queryOf(ctx: Context): Params {
  const out: Params = {};
  for (const [name, value] of new URLSearchParams(ctx.querystring)) {
    const prev = out[name];
    out[name] = prev === undefined ? value : [...(Array.isArray(prev) ? prev : [prev]), value];
  }
  return out;
}

/**
 * One parameter that may appear at most once (RFC 6749 3.1: "parameters MUST
 * NOT be included more than once"); "" when absent.
 */
export function single(params: Params, name: string): string {
  const v = params[name];
  if (Array.isArray(v)) throw new HttpError(400, "invalid_request", `${name}: sent more than once`);
  return v ?? "";
}

/** A parameter that may repeat (RFC 8707 `resource`). */
export function many(params: Params, name: string): string[] {
  const v = params[name];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).filter((s) => s !== "");
}

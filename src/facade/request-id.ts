import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";
import type { Middleware } from "koa";

/**
 * The current HTTP request's id, carried through async work without being
 * passed by hand, so every core call and log line of one request shares it.
 */
const storage = new AsyncLocalStorage<string>();

/** Runs `fn` with `id` as the current request id. */
export function runWithRequestId<T>(id: string, fn: () => T): T {
  return storage.run(id, fn);
}

/** The id of the HTTP request being served, or undefined outside one. */
export function currentRequestId(): string | undefined {
  return storage.getStore();
}

/** Short, log-safe ids only: anything else from the outside is replaced, never echoed. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Accepts a sane incoming `X-Request-Id` (so a proxy's id follows the request
 * into the core), else makes one; echoes it on the response and runs the rest
 * of the pipeline inside it.
 */
export function requestId(): Middleware {
  return async (ctx, next) => {
    const incoming = ctx.get("x-request-id");
    const id = SANE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
    ctx.state.requestId = id;
    ctx.set("X-Request-Id", id);
    await runWithRequestId(id, next);
  };
}

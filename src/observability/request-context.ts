import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";

/**
 * The current request's id, carried through async work without being passed
 * by hand, so every log line of one request (in the facade or in the core)
 * names it. The facade's HTTP middleware and the core's RPC interceptor both
 * run their request inside it.
 */
const storage = new AsyncLocalStorage<string>();

/** Runs `fn` with `id` as the current request id. */
export function runWithRequestId<T>(id: string, fn: () => T): T {
  return storage.run(id, fn);
}

/** The id of the request being served, or undefined outside one. */
export function currentRequestId(): string | undefined {
  return storage.getStore();
}

/** Short, log-safe ids only: anything else from the outside is replaced, never echoed or logged. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** `incoming` when it is a sane id (a proxy's or the facade's), else a new UUID. */
export function acceptRequestId(incoming: string | null | undefined): string {
  return incoming && SANE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

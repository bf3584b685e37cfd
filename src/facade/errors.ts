import { Code, ConnectError } from "@connectrpc/connect";
import { currentRequestId } from "./request-id.js";

/**
 * THE error table (architecture rule 2): one row per Connect code, giving the
 * HTTP status, the OAuth `error` code and the JSON-RPC error code the facade
 * answers with. The core only ever throws `ConnectError`; every protocol the
 * facade speaks translates it here and nowhere else.
 *
 * Choices worth knowing:
 * - FailedPrecondition is 400, not 412: 412 is about HTTP conditional headers
 *   (If-Match), and OAuth reports every bad request as 400.
 * - Canceled is 499 (client closed request), as nginx and gRPC gateways do.
 * - OAuth codes come from the IANA OAuth registry where one fits. `not_found`
 *   (and `method_not_allowed` for HTTP errors) are the facade's own, for
 *   failures no OAuth endpoint defines.
 * - JSON-RPC: the standard -32602 (invalid params), -32601 (method not found)
 *   and -32603 (internal) where they fit; every other code is MeshAI-defined
 *   in the server range as `-32000 - code` (Unauthenticated = -32016,
 *   PermissionDenied = -32007, NotFound = -32005, ...), so it decodes by hand.
 *
 * Explicit OAuth code convention: an OAuth error needs finer codes than a
 * Connect code carries (invalid_grant, invalid_client, insufficient_scope...).
 * The core sets them as the `oauth-error` key of the ConnectError's metadata,
 * e.g. `new ConnectError("code expired", Code.InvalidArgument, { "oauth-error": "invalid_grant" })`;
 * it travels as a trailer and overrides the table's default here.
 */
export interface ErrorMapping {
  status: number;
  oauth: string;
  jsonRpc: number;
}

const server = (code: Code) => -32000 - code;

export const errorTable: Readonly<Record<Code, ErrorMapping>> = {
  [Code.Canceled]: { status: 499, oauth: "invalid_request", jsonRpc: server(Code.Canceled) },
  [Code.Unknown]: { status: 500, oauth: "server_error", jsonRpc: -32603 },
  [Code.InvalidArgument]: { status: 400, oauth: "invalid_request", jsonRpc: -32602 },
  [Code.DeadlineExceeded]: { status: 504, oauth: "temporarily_unavailable", jsonRpc: server(Code.DeadlineExceeded) },
  [Code.NotFound]: { status: 404, oauth: "not_found", jsonRpc: server(Code.NotFound) },
  [Code.AlreadyExists]: { status: 409, oauth: "invalid_request", jsonRpc: server(Code.AlreadyExists) },
  [Code.PermissionDenied]: { status: 403, oauth: "access_denied", jsonRpc: server(Code.PermissionDenied) },
  [Code.ResourceExhausted]: { status: 429, oauth: "temporarily_unavailable", jsonRpc: server(Code.ResourceExhausted) },
  [Code.FailedPrecondition]: { status: 400, oauth: "invalid_request", jsonRpc: server(Code.FailedPrecondition) },
  [Code.Aborted]: { status: 409, oauth: "temporarily_unavailable", jsonRpc: server(Code.Aborted) },
  [Code.OutOfRange]: { status: 400, oauth: "invalid_request", jsonRpc: -32602 },
  [Code.Unimplemented]: { status: 501, oauth: "server_error", jsonRpc: -32601 },
  [Code.Internal]: { status: 500, oauth: "server_error", jsonRpc: -32603 },
  [Code.Unavailable]: { status: 503, oauth: "temporarily_unavailable", jsonRpc: server(Code.Unavailable) },
  [Code.DataLoss]: { status: 500, oauth: "server_error", jsonRpc: -32603 },
  [Code.Unauthenticated]: { status: 401, oauth: "invalid_token", jsonRpc: server(Code.Unauthenticated) },
};

/** What a client may read for a server-side failure: nothing internal. */
const serverDescriptions: Partial<Record<Code, string>> = {
  [Code.Unimplemented]: "not implemented",
  [Code.Unavailable]: "service temporarily unavailable, try again",
  [Code.DeadlineExceeded]: "request timed out",
};

export function httpStatusFor(code: Code): number {
  return errorTable[code].status;
}

export function oauthErrorFor(code: Code): string {
  return errorTable[code].oauth;
}

export function jsonRpcCodeFor(code: Code): number {
  return errorTable[code].jsonRpc;
}

/**
 * A failure the facade detects itself, at the HTTP level (body too large, no
 * such route): it has no Connect code, so it carries its status and code.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    description: string,
    /** The JSON-RPC code when it is not the generic -32600, e.g. -32700 for a body that is not JSON. */
    readonly jsonRpc?: number,
  ) {
    super(description);
    this.name = "HttpError";
  }
}

export interface HttpErrorBody {
  error: string;
  error_description: string;
  request_id?: string;
}

/** The OAuth-registry-shaped code for a bare HTTP status (Koa's `ctx.throw`, http-errors). */
function oauthErrorForStatus(status: number): string {
  if (status >= 500) return "server_error";
  if (status === 401) return "invalid_token";
  if (status === 403) return "access_denied";
  if (status === 404) return "not_found";
  if (status === 405) return "method_not_allowed";
  if (status === 429) return "temporarily_unavailable";
  return "invalid_request";
}

/** RFC 6749 allows these characters in `error`; we also keep it short. */
const OAUTH_ERROR_CODE = /^[a-z][a-z0-9_]{0,63}$/;

export interface Classified {
  status: number;
  oauth: string;
  jsonRpc: number;
  /** Safe to show: the thrower's message for client mistakes, a fixed phrase otherwise. */
  description: string;
}

/**
 * The status, OAuth code and safe description for anything thrown: what the
 * OAuth JSON endpoints and the HTML error pages both render from.
 */
export function classifyError(err: unknown): Classified {
  return classify(err);
}

/**
 * Seconds a throttled caller should wait (the core's `retry-after` metadata
 * on ResourceExhausted), for the HTTP `Retry-After` header; undefined otherwise.
 */
export function retryAfterOf(err: unknown): string | undefined {
  if (!(err instanceof ConnectError) || err.code !== Code.ResourceExhausted) return undefined;
  const v = err.metadata.get("retry-after");
  return v !== null && /^\d{1,9}$/.test(v) ? v : undefined;
}

function classify(err: unknown): Classified {
  if (err instanceof ConnectError) {
    const row = errorTable[err.code] ?? errorTable[Code.Unknown];
    const override = err.metadata.get("oauth-error");
    return {
      ...row,
      oauth: override !== null && OAUTH_ERROR_CODE.test(override) ? override : row.oauth,
      description:
        row.status < 500 ? err.rawMessage : (serverDescriptions[err.code] ?? "internal error"),
    };
  }
  if (err instanceof HttpError) {
    return {
      status: err.status,
      oauth: err.error,
      jsonRpc: err.jsonRpc ?? (err.status < 500 ? -32600 : -32603),
      description: err.status < 500 ? err.message : "internal error",
    };
  }
  // http-errors (Koa's ctx.throw): trust the status, show the message only if marked safe.
  const status = (err as { status?: unknown } | null)?.status;
  if (typeof status === "number" && status >= 400 && status <= 599) {
    const expose = (err as { expose?: unknown }).expose === true && status < 500;
    return {
      status,
      oauth: oauthErrorForStatus(status),
      jsonRpc: status < 500 ? -32600 : -32603,
      description: expose ? String((err as { message?: unknown }).message) : status < 500 ? "bad request" : "internal error",
    };
  }
  return { ...errorTable[Code.Internal], description: "internal error" };
}

/**
 * Turns anything thrown while serving a request into the JSON error a client
 * gets: a 4xx keeps the thrower's message (it names the bad field), a 5xx
 * never shows internals, only the request id to quote.
 *
 * @example
 * const { status, body } = toHttpError(err); // 400 { error: "invalid_grant", error_description: "code expired", request_id }
 */
export function toHttpError(
  err: unknown,
  requestId: string | undefined = currentRequestId(),
): { status: number; body: HttpErrorBody } {
  const { status, oauth, description } = classify(err);
  const body: HttpErrorBody = { error: oauth, error_description: description };
  if (requestId !== undefined) body.request_id = requestId;
  return { status, body };
}

/**
 * The same failure as a JSON-RPC error object (for the MCP endpoint), with
 * the same rule about what a client may read.
 */
export function toJsonRpcError(
  err: unknown,
  requestId: string | undefined = currentRequestId(),
): { code: number; message: string; data?: { request_id: string } } {
  const { jsonRpc, description } = classify(err);
  return requestId === undefined
    ? { code: jsonRpc, message: description }
    : { code: jsonRpc, message: description, data: { request_id: requestId } };
}

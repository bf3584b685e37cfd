import { createHash } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import type { CoreClients } from "../core-client.js";

/** The verified caller of one MCP request, as the core described the token. */
export interface McpCaller {
  /** The raw access token: forwarded to the core on every tool call, never to agents, never logged. */
  token: string;
  subject: string;
  clientId: string;
  scopes: string[];
  /** Epoch seconds, as the SDK's AuthInfo wants it. */
  expiresAt: number;
}

/** Why a request carries no usable token; the text goes into error_description. */
export class BearerError extends Error {}

const BEARER = /^Bearer[ ]+([A-Za-z0-9\-._~+/]+=*)$/i;

/** Reads `Authorization: Bearer <token>` (RFC 6750 section 2.1); query and body tokens are not accepted. */
export function bearerFrom(header: string | undefined): string {
  if (header === undefined || header.trim() === "") throw new BearerError("an access token is required");
  const m = BEARER.exec(header.trim());
  if (!m) throw new BearerError("the authorization header must be 'Bearer <access token>'");
  return m[1]!;
}

export interface TokenVerifierOptions {
  /** How long a positive answer may be reused; revocation shows up after at most this long. */
  cacheMs?: number;
  /** Entries kept at most (each is a hash and a few strings). */
  maxEntries?: number;
  now?: () => number;
}

export type TokenVerifier = (token: string) => Promise<McpCaller>;

/**
 * Asks the core whether a token is good for the MCP resource: signature,
 * issuer, audience, expiry and revocation are all decided there. A positive
 * answer is reused for at most `cacheMs` (one second by default) so a burst
 * of requests costs one RPC; keys are token hashes, never tokens.
 */
export function createTokenVerifier(core: Pick<CoreClients, "auth">, resource: string, opts: TokenVerifierOptions = {}): TokenVerifier {
  const cacheMs = opts.cacheMs ?? 1000;
  const maxEntries = opts.maxEntries ?? 10_000;
  const now = opts.now ?? Date.now;
  const cache = new Map<string, { caller: Omit<McpCaller, "token">; until: number }>();
  const pending = new Map<string, Promise<Omit<McpCaller, "token">>>();

  return async (token) => {
    const key = createHash("sha256").update(token).digest("base64url");
    const hit = cache.get(key);
    const t = now();
    if (hit && hit.until > t && hit.caller.expiresAt * 1000 > t) return { token, ...hit.caller };
    if (hit) cache.delete(key);
    // Requests with the same token while one check runs share its answer: a burst costs one RPC.
    let asking = pending.get(key);
    if (!asking) {
      asking = ask(key, token, t);
      pending.set(key, asking);
      void asking.catch(() => undefined).finally(() => pending.delete(key));
    }
    return { token, ...(await asking) };
  };

  async function ask(key: string, token: string, t: number): Promise<Omit<McpCaller, "token">> {
    let res;
    try {
      res = await core.auth.verifyAccessToken({ token, resource });
    } catch (err) {
      if (err instanceof ConnectError && (err.code === Code.Unauthenticated || err.code === Code.InvalidArgument || err.code === Code.PermissionDenied)) {
        throw new BearerError(err.rawMessage || "the access token is not valid");
      }
      throw err;
    }
    const expiresAt = res.expireTime ? Number(res.expireTime.seconds) : Math.floor(t / 1000) + 60;
    const caller = { subject: res.subject, clientId: res.clientId, scopes: [...res.scopes], expiresAt };
    if (cache.size >= maxEntries) cache.delete(cache.keys().next().value!);
    cache.set(key, { caller, until: t + cacheMs });
    return caller;
  }
}

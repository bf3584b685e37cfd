import { Code, ConnectError } from "@connectrpc/connect";
import { type OutboundFetch, OutboundBlockedError, checkOutboundUrl, readLimited } from "../net/outbound.js";
import { isLoopbackHost } from "./redirect-uris.js";
import { oauthError } from "./oauth-errors.js";

/** Client ID Metadata Documents: the client_id is an https URL serving the client's metadata. */

export const DOCUMENT_MAX_BYTES = 5 * 1024;
const MIN_CACHE_MS = 5 * 60_000;
const MAX_CACHE_MS = 24 * 3600_000;
const DEFAULT_CACHE_MS = 3600_000;

const unresolvable = (why: string) => oauthError(Code.InvalidArgument, "invalid_client", `client_id: ${why}`);

/** True when the client_id is meant as a metadata document URL (rather than a registered id). */
export function isDocumentClientId(clientId: string): boolean {
  return /^https?:\/\//i.test(clientId);
}

/**
 * Checks the URL form the draft requires: https (http on loopback only when
 * private networks are allowed, for tests), a path, no fragment, no
 * credentials, no dot segments.
 */
export function checkDocumentUrl(clientId: string, allowPrivateNetwork: boolean): URL {
  let u: URL;
  try {
    u = new URL(clientId);
  } catch {
    throw unresolvable("is not a URL");
  }
  const loopbackHttp = u.protocol === "http:" && allowPrivateNetwork && isLoopbackHost(u.hostname);
  if (u.protocol !== "https:" && !loopbackHttp) throw unresolvable("a metadata document URL must be https");
  if (u.hash || clientId.includes("#")) throw unresolvable("a metadata document URL must not have a fragment");
  if (u.username || u.password) throw unresolvable("a metadata document URL must not contain credentials");
  if (u.pathname === "/" || u.pathname === "") throw unresolvable("a metadata document URL must have a path");
  if (/\/\.\.?(\/|$)/.test(clientId.replace(/^[a-z]+:\/\/[^/]*/i, ""))) throw unresolvable("a metadata document URL must not contain dot segments");
  if (u.href !== clientId) throw unresolvable("a metadata document URL must be in normal form");
  try {
    checkOutboundUrl(u, { allowPrivateNetwork });
  } catch (e) {
    throw unresolvable(`metadata document refused: ${(e as Error).message}`);
  }
  return u;
}

/** How long a fetched document may be used, from its Cache-Control max-age, within 5 min .. 24 h. */
export function cacheLifetime(cacheControl: string | null): number {
  if (!cacheControl) return DEFAULT_CACHE_MS;
  if (/no-store|no-cache/i.test(cacheControl)) return MIN_CACHE_MS;
  const m = /max-age\s*=\s*(\d+)/i.exec(cacheControl);
  if (!m) return DEFAULT_CACHE_MS;
  return Math.min(MAX_CACHE_MS, Math.max(MIN_CACHE_MS, Number(m[1]) * 1000));
}

/** Fetches and parses the document through the SSRF-guarded fetch. Throws InvalidArgument invalid_client. */
export async function fetchClientDocument(
  fetch: OutboundFetch,
  clientId: string,
  allowPrivateNetwork: boolean,
): Promise<{ document: Record<string, unknown>; lifetimeMs: number }> {
  const url = checkDocumentUrl(clientId, allowPrivateNetwork);
  let text: string;
  let res: Response;
  try {
    res = await fetch(url, { headers: { accept: "application/json" } });
    if (res.status !== 200) {
      await res.body?.cancel();
      throw unresolvable(`metadata document answered HTTP ${res.status}`);
    }
    text = await readLimited(res, DOCUMENT_MAX_BYTES);
  } catch (e) {
    if (e instanceof ConnectError) throw e;
    if (e instanceof OutboundBlockedError) throw unresolvable(`metadata document refused: ${e.message}`);
    throw unresolvable("metadata document could not be fetched");
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw unresolvable("metadata document is not JSON");
  }
  if (typeof document !== "object" || document === null || Array.isArray(document)) throw unresolvable("metadata document is not a JSON object");
  const doc = document as Record<string, unknown>;
  if (doc.client_id !== clientId) throw unresolvable("the metadata document's client_id does not equal its URL");
  for (const forbidden of ["client_secret", "client_secret_expires_at"]) {
    if (forbidden in doc) throw unresolvable(`metadata document must not contain ${forbidden}`);
  }
  return { document: doc, lifetimeMs: cacheLifetime(res.headers.get("cache-control")) };
}

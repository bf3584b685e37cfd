import dns from "node:dns";
import net from "node:net";
import ipaddr from "ipaddr.js";
import { Agent, fetch as undiciFetch } from "undici";

/**
 * Outbound HTTP for everything the core fetches on someone else's say-so:
 * agent endpoints, A2A agent cards, OAuth client metadata documents, JWKS URLs.
 * Unless private networks are allowed, every connection is checked against
 * the address it really goes to (after DNS, on every redirect hop), so a
 * hostile URL cannot reach loopback, private, link-local or metadata addresses.
 */
export interface OutboundOptions {
  /** Allow private, loopback and link-local targets (tests, agents on the same host or LAN). */
  allowPrivateNetwork: boolean;
  /** Per-request time limit; default 10 s. */
  timeoutMs?: number;
}

/** A refused destination: the message says why, without echoing secrets. */
export class OutboundBlockedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "OutboundBlockedError";
  }
}

/** True for addresses on the public internet (ipaddr.js range "unicast"). */
export function isPublicAddress(ip: string): boolean {
  if (!ipaddr.isValid(ip)) return false;
  let addr = ipaddr.parse(ip);
  if (addr.kind() === "ipv6" && (addr as ipaddr.IPv6).isIPv4MappedAddress()) addr = (addr as ipaddr.IPv6).toIPv4Address();
  return addr.range() === "unicast";
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;

function guardedLookup(hostname: string, options: dns.LookupOptions, callback: LookupCallback): void {
  dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, []);
    const list = addresses as dns.LookupAddress[];
    const refused = list.find((a) => !isPublicAddress(a.address));
    if (refused) {
      const e = new OutboundBlockedError(`${hostname} resolves to a private or reserved address (${refused.address})`) as unknown as NodeJS.ErrnoException;
      e.code = "EMESHAIBLOCKED";
      return callback(e, []);
    }
    if (options.all) return callback(null, list);
    const first = list[0]!;
    callback(null, first.address, first.family);
  });
}

/** Throws OutboundBlockedError unless `url` is an http(s) URL this policy may reach. */
export function checkOutboundUrl(url: string | URL, options: Pick<OutboundOptions, "allowPrivateNetwork">): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new OutboundBlockedError("not an absolute URL");
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") throw new OutboundBlockedError(`scheme ${u.protocol} is not allowed`);
  if (u.username || u.password) throw new OutboundBlockedError("URLs with credentials are not allowed");
  const host = u.hostname.replace(/^\[|\]$/g, "");
  if (!options.allowPrivateNetwork) {
    if (net.isIP(host) && !isPublicAddress(host)) throw new OutboundBlockedError(`${host} is a private or reserved address`);
    if (/^localhost$|\.localhost$|\.local$|\.internal$/i.test(host)) throw new OutboundBlockedError(`${host} is not a public host name`);
  }
  return u;
}

export type OutboundFetch = (url: string | URL, init?: RequestInit) => Promise<Response>;

/**
 * A fetch that enforces the policy: guarded DNS, no redirects to anywhere
 * unchecked (redirects are refused), and a time limit combined with the
 * caller's abort signal.
 */
export function createOutboundFetch(options: OutboundOptions): OutboundFetch {
  const dispatcher = new Agent({
    connect: options.allowPrivateNetwork ? {} : { lookup: guardedLookup as never },
    headersTimeout: options.timeoutMs ?? 10_000,
  });
  const timeoutMs = options.timeoutMs ?? 10_000;
  return async (url, init = {}) => {
    const target = checkOutboundUrl(url, options);
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
    try {
      const res = await undiciFetch(target, { ...(init as object), redirect: "manual", signal, dispatcher } as never);
      if (res.status >= 300 && res.status < 400 && res.headers.get("location")) {
        await res.body?.cancel();
        throw new OutboundBlockedError(`${target.host} answered with a redirect, which is not followed`);
      }
      return res as unknown as Response;
    } catch (e) {
      const cause = (e as { cause?: unknown }).cause;
      if (cause instanceof OutboundBlockedError || (cause as { code?: string })?.code === "EMESHAIBLOCKED") {
        throw new OutboundBlockedError((cause as Error).message);
      }
      throw e;
    }
  };
}

/** A long-lived stream (SSE) must not be cut by the per-request timeout: no time limit, only the caller's signal. */
export function createStreamingFetch(options: Pick<OutboundOptions, "allowPrivateNetwork">): OutboundFetch {
  const dispatcher = new Agent({
    connect: options.allowPrivateNetwork ? {} : { lookup: guardedLookup as never },
    bodyTimeout: 0,
    headersTimeout: 30_000,
  });
  return async (url, init = {}) => {
    const target = checkOutboundUrl(url, options);
    const res = await undiciFetch(target, { ...(init as object), redirect: "manual", dispatcher } as never);
    if (res.status >= 300 && res.status < 400 && res.headers.get("location")) {
      await res.body?.cancel();
      throw new OutboundBlockedError(`${target.host} answered with a redirect, which is not followed`);
    }
    return res as unknown as Response;
  };
}

/** Reads a response body up to `maxBytes`, refusing anything larger. */
export async function readLimited(res: Response, maxBytes: number): Promise<string> {
  const declared = Number(res.headers.get("content-length") ?? "NaN");
  if (declared > maxBytes) {
    await res.body?.cancel();
    throw new OutboundBlockedError(`response is larger than ${maxBytes} bytes`);
  }
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw new OutboundBlockedError(`response is larger than ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

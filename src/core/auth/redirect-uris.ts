/**
 * Redirect URI rules (OAuth 2.1, RFC 8252, RFC 9700): https anywhere, http only
 * on a loopback host, private-use schemes for native apps; never a fragment,
 * never a scheme that runs code or carries data in the browser.
 */

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "[::1]", "localhost"]);
const FORBIDDEN_SCHEMES = new Set(["javascript:", "data:", "vbscript:", "file:", "blob:", "about:", "filesystem:", "view-source:"]);

/** Returns why `uri` cannot be registered as a redirect URI, or undefined when it can. */
export function redirectUriProblem(uri: unknown): string | undefined {
  if (typeof uri !== "string" || uri === "") return "must be a non-empty string";
  if (uri.length > 2000) return "must be at most 2000 characters";
  if (/[\s\u0000-\u001f\u007f]/.test(uri)) return "must not contain spaces or control characters";
  let u: URL;
  try {
    u = new URL(uri);
  } catch {
    return "must be an absolute URI";
  }
  if (FORBIDDEN_SCHEMES.has(u.protocol.toLowerCase())) return `the ${u.protocol} scheme is not allowed`;
  if (uri.includes("#")) return "must not contain a fragment";
  if (u.username || u.password) return "must not contain credentials";
  if (u.protocol === "https:") return u.hostname ? undefined : "must name a host";
  if (u.protocol === "http:") {
    return isLoopbackHost(u.hostname) ? undefined : "http is only allowed on a loopback host (127.0.0.1, [::1], localhost); use https";
  }
  // A private-use scheme (RFC 8252 7.1), e.g. cursor:// or com.example.app:/cb.
  if (!/^[a-z][a-z0-9+.-]*:$/i.test(u.protocol)) return "has an invalid scheme";
  return undefined;
}

export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname.toLowerCase());
}

/**
 * Whether `requested` is one of the registered URIs: exact string match,
 * except that a loopback http URI may use any port (RFC 8252 7.3).
 */
export function redirectUriMatches(registered: string[], requested: string): boolean {
  if (registered.includes(requested)) return true;
  let r: URL;
  try {
    r = new URL(requested);
  } catch {
    return false;
  }
  if (r.protocol !== "http:" || !isLoopbackHost(r.hostname) || requested.includes("#")) return false;
  return registered.some((candidate) => {
    let c: URL;
    try {
      c = new URL(candidate);
    } catch {
      return false;
    }
    return (
      c.protocol === "http:" &&
      c.hostname === r.hostname &&
      c.pathname === r.pathname &&
      c.search === r.search &&
      c.username === r.username &&
      c.password === r.password
    );
  });
}

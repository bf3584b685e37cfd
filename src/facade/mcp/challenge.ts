/**
 * The `WWW-Authenticate` challenges of the MCP resource, worded exactly as
 * REFERENCES.md "MCP authorization" gives them: ChatGPT starts OAuth only
 * from a 401 carrying `resource_metadata`, and steps up scopes from a 403
 * (or a tool result's `_meta["mcp/www_authenticate"]`) naming them.
 */

/** The scope every MCP request needs at least; the 401 challenge asks for it. */
export const BASELINE_SCOPE = "mcp:read";

/** `<issuer>/.well-known/oauth-protected-resource/v1/mcp`: the path-form metadata clients try first. */
export function resourceMetadataUrl(issuer: string): string {
  return `${issuer}/.well-known/oauth-protected-resource/v1/mcp`;
}

/** A quoted-string per RFC 7230: no CR/LF, `"` and `\` escaped. */
function quoted(value: string): string {
  return `"${value.replace(/[\r\n]+/g, " ").replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/** 401: no token, or one the core refused (bad signature, wrong audience, expired, revoked). */
export function invalidTokenChallenge(issuer: string, description: string): string {
  return (
    `Bearer error="invalid_token", error_description=${quoted(description)}, ` +
    `resource_metadata=${quoted(resourceMetadataUrl(issuer))}, scope=${quoted(BASELINE_SCOPE)}`
  );
}

/**
 * 403 step-up: `scope` lists what is needed plus what the token already has,
 * so re-authorizing does not lose a scope the user granted before.
 */
export function insufficientScopeChallenge(issuer: string, needed: string, granted: readonly string[], description?: string): string {
  const scope = [...new Set([needed, ...granted])].join(" ");
  return (
    `Bearer error="insufficient_scope", scope=${quoted(scope)}, ` +
    `resource_metadata=${quoted(resourceMetadataUrl(issuer))}` +
    (description ? `, error_description=${quoted(description)}` : "")
  );
}

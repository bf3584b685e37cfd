import { Code, ConnectError } from "@connectrpc/connect";

/**
 * An OAuth error as the core reports it: a ConnectError whose Code gives the
 * HTTP family and whose `oauth-error` metadata carries the RFC error code
 * (the facade's error table lets it override the default for the Code).
 */
export function oauthError(code: Code, oauthCode: string, message: string, extra: Record<string, string> = {}): ConnectError {
  return new ConnectError(message, code, { "oauth-error": oauthCode, ...extra });
}

export const invalidRequest = (m: string) => oauthError(Code.InvalidArgument, "invalid_request", m);
export const invalidGrant = (m: string) => oauthError(Code.InvalidArgument, "invalid_grant", m);
export const invalidScope = (m: string) => oauthError(Code.InvalidArgument, "invalid_scope", m);
export const invalidTarget = (m: string) => oauthError(Code.InvalidArgument, "invalid_target", m);
export const invalidClient = (m: string) => oauthError(Code.Unauthenticated, "invalid_client", m);
export const invalidClientMetadata = (m: string) => oauthError(Code.InvalidArgument, "invalid_client_metadata", m);
export const invalidRedirectUri = (m: string) => oauthError(Code.InvalidArgument, "invalid_redirect_uri", m);
export const accessDenied = (m: string) => oauthError(Code.PermissionDenied, "access_denied", m);

/** Throttled: ResourceExhausted with the seconds to wait in `retry-after`. */
export function throttled(message: string, retryAfterSeconds: number): ConnectError {
  return oauthError(Code.ResourceExhausted, "temporarily_unavailable", message, { "retry-after": String(Math.max(1, Math.ceil(retryAfterSeconds))) });
}

import { isLoopbackHost, redirectUriProblem } from "./redirect-uris.js";
import { invalidClientMetadata, invalidRedirectUri } from "./oauth-errors.js";
import { isScope, parseScope } from "./scopes.js";

export const AUTH_METHODS = ["none", "client_secret_basic", "client_secret_post", "private_key_jwt"] as const;
export type AuthMethod = (typeof AUTH_METHODS)[number];
export const SECRET_METHODS: readonly string[] = ["client_secret_basic", "client_secret_post"];

/** What a client registration may say, once validated. */
export interface ValidClientMetadata {
  name: string;
  redirectUris: string[];
  tokenEndpointAuthMethod: AuthMethod;
  grantTypes: string[];
  responseTypes: string[];
  scope: string;
  jwksUri: string | null;
  jwks: string | null;
  clientUri: string | null;
  logoUri: string | null;
  /** The metadata as registered, normalised (what the registration response echoes). */
  metadata: Record<string, unknown>;
}

export interface MetadataRules {
  /** Grant types this kind of registration may ask for. */
  allowedGrantTypes: string[];
  defaultAuthMethod: AuthMethod;
  /** Auth methods this kind of registration may use. */
  allowedAuthMethods: readonly AuthMethod[];
  /** Whether redirect_uris may be empty (client_credentials-only admin clients). */
  redirectUrisOptional: boolean;
  /** Accept an http jwks_uri on a loopback host (only when private networks are allowed: tests, local dev). */
  loopbackHttpJwksUri?: boolean;
}

function stringArray(value: unknown, field: string): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((v) => typeof v !== "string")) throw invalidClientMetadata(`${field}: must be an array of strings`);
  return value as string[];
}

function optionalString(value: unknown, field: string, max = 2000): string | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value !== "string") throw invalidClientMetadata(`${field}: must be a string`);
  if (value.length > max) throw invalidClientMetadata(`${field}: must be at most ${max} characters`);
  return value;
}

function webUrl(value: unknown, field: string): string | null {
  const s = optionalString(value, field);
  if (!s) return null;
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    throw invalidClientMetadata(`${field}: must be an absolute https URL`);
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") throw invalidClientMetadata(`${field}: must be an https URL`);
  return s;
}

/**
 * Validates RFC 7591 client metadata. Throws InvalidArgument with
 * invalid_redirect_uri or invalid_client_metadata naming the field.
 */
export function validateClientMetadata(raw: Record<string, unknown>, rules: MetadataRules): ValidClientMetadata {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw invalidClientMetadata("metadata: must be a JSON object");

  const redirectUris = stringArray(raw.redirect_uris, "redirect_uris") ?? [];
  if (redirectUris.length === 0 && !rules.redirectUrisOptional) throw invalidRedirectUri("redirect_uris: at least one redirect URI is required");
  if (redirectUris.length > 20) throw invalidRedirectUri("redirect_uris: at most 20 redirect URIs");
  for (const uri of redirectUris) {
    const problem = redirectUriProblem(uri);
    if (problem) throw invalidRedirectUri(`redirect_uris: ${JSON.stringify(uri).slice(0, 200)} ${problem}`);
  }

  const methodRaw = raw.token_endpoint_auth_method ?? rules.defaultAuthMethod;
  if (typeof methodRaw !== "string" || !(AUTH_METHODS as readonly string[]).includes(methodRaw)) {
    throw invalidClientMetadata(`token_endpoint_auth_method: must be one of ${AUTH_METHODS.join(", ")}`);
  }
  const method = methodRaw as AuthMethod;
  if (!rules.allowedAuthMethods.includes(method)) {
    throw invalidClientMetadata(`token_endpoint_auth_method: ${method} is not allowed here (use ${rules.allowedAuthMethods.join(", ")})`);
  }

  const grantTypes = stringArray(raw.grant_types, "grant_types") ?? ["authorization_code", "refresh_token"];
  if (grantTypes.length === 0) throw invalidClientMetadata("grant_types: must not be empty");
  for (const g of grantTypes) {
    if (!rules.allowedGrantTypes.includes(g)) {
      throw invalidClientMetadata(`grant_types: ${g} is not allowed here (use ${rules.allowedGrantTypes.join(", ")})`);
    }
  }
  if (grantTypes.includes("client_credentials") && method === "none") {
    throw invalidClientMetadata("grant_types: client_credentials needs a confidential client (a secret or private_key_jwt)");
  }
  if (grantTypes.includes("authorization_code") && redirectUris.length === 0) {
    throw invalidRedirectUri("redirect_uris: the authorization_code grant needs at least one redirect URI");
  }

  const responseTypes = stringArray(raw.response_types, "response_types") ?? (grantTypes.includes("authorization_code") ? ["code"] : []);
  for (const r of responseTypes) {
    if (r !== "code") throw invalidClientMetadata(`response_types: ${r} is not supported (only code)`);
  }

  // Scopes this platform does not know are dropped, not refused (RFC 7591 2: the server may
  // replace requested metadata): clients register with their own words ("read write", ...).
  // The registration response tells the client what it got; nothing left means every scope.
  const scopeRaw = optionalString(raw.scope, "scope", 1000) ?? "";
  const scopes = parseScope(scopeRaw).filter(isScope);

  const jwksUri = webUrl(raw.jwks_uri, "jwks_uri");
  if (jwksUri && !jwksUri.startsWith("https:") && !(rules.loopbackHttpJwksUri && isLoopbackHost(new URL(jwksUri).hostname))) {
    throw invalidClientMetadata("jwks_uri: must be an https URL");
  }
  let jwks: string | null = null;
  if (raw.jwks !== undefined && raw.jwks !== null) {
    const j = raw.jwks as { keys?: unknown };
    if (typeof j !== "object" || !Array.isArray(j.keys) || j.keys.length === 0 || j.keys.length > 10) {
      throw invalidClientMetadata("jwks: must be a JSON Web Key Set with 1 to 10 keys");
    }
    for (const k of j.keys as Array<Record<string, unknown>>) {
      if (typeof k !== "object" || k === null || typeof k.kty !== "string") throw invalidClientMetadata("jwks: every key needs a kty");
      if ("d" in k || "p" in k || "k" in k) throw invalidClientMetadata("jwks: must hold public keys only");
    }
    jwks = JSON.stringify({ keys: j.keys });
    if (jwks.length > 20_000) throw invalidClientMetadata("jwks: is too large");
  }
  if (jwksUri && jwks) throw invalidClientMetadata("jwks: give jwks or jwks_uri, not both");
  if (method === "private_key_jwt" && !jwksUri && !jwks) throw invalidClientMetadata("jwks_uri: private_key_jwt needs jwks_uri or jwks");

  const name = optionalString(raw.client_name, "client_name", 200) ?? "";
  const clientUri = webUrl(raw.client_uri, "client_uri");
  const logoUri = webUrl(raw.logo_uri, "logo_uri");

  const metadata: Record<string, unknown> = {
    ...(name ? { client_name: name } : {}),
    redirect_uris: redirectUris,
    token_endpoint_auth_method: method,
    grant_types: grantTypes,
    response_types: responseTypes,
    ...(scopes.length ? { scope: scopes.join(" ") } : {}),
    ...(jwksUri ? { jwks_uri: jwksUri } : {}),
    ...(jwks ? { jwks: JSON.parse(jwks) as unknown } : {}),
    ...(clientUri ? { client_uri: clientUri } : {}),
    ...(logoUri ? { logo_uri: logoUri } : {}),
  };
  for (const extra of ["software_id", "software_version", "contacts", "tos_uri", "policy_uri"]) {
    const v = raw[extra];
    if (typeof v === "string" && v.length <= 500) metadata[extra] = v;
    if (extra === "contacts" && Array.isArray(v) && v.every((c) => typeof c === "string" && c.length <= 320) && v.length <= 10) metadata[extra] = v;
  }
  return {
    name,
    redirectUris,
    tokenEndpointAuthMethod: method,
    grantTypes,
    responseTypes,
    scope: scopes.join(" "),
    jwksUri,
    jwks,
    clientUri,
    logoUri,
    metadata,
  };
}

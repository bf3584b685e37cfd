import { timingSafeEqual } from "node:crypto";
import { type JSONWebKeySet, type JWTVerifyGetKey, createLocalJWKSet, decodeJwt, errors as joseErrors, jwtVerify } from "jose";
import type { Clock } from "../clock.js";
import { hashSecret } from "../ids.js";
import { type OutboundFetch, readLimited } from "../net/outbound.js";
import type { ClientRecord } from "../store/clients.js";
import type { ClientAssertionRepository } from "../store/client-assertions.js";
import { SECRET_METHODS } from "./client-metadata.js";
import type { ClientRegistry } from "./clients.js";
import { invalidClient, invalidRequest } from "./oauth-errors.js";

/** The client's credentials as the facade found them in the HTTP request. */
export interface PresentedCredentials {
  clientId: string;
  clientSecret: string;
  clientAssertionType: string;
  clientAssertion: string;
  method: string;
  endpoint: string;
}

export interface ClientAuthDeps {
  issuer: string;
  registry: ClientRegistry;
  assertions: ClientAssertionRepository;
  fetch: OutboundFetch;
  clock: Clock;
}

export const JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const ASSERTION_ALGS = ["RS256", "ES256", "PS256", "EdDSA"];
/** An assertion may live at most this long past now (RFC 7523 says short-lived). */
const MAX_ASSERTION_LIFETIME_S = 5 * 60;
const CLOCK_SKEW_S = 30;
const JWKS_CACHE_MS = 5 * 60_000;
const JWKS_REFETCH_MS = 30_000;
const JWKS_MAX_BYTES = 64 * 1024;

export interface AuthenticatedClient {
  client: ClientRecord;
  /** How it proved itself: none, client_secret_basic, client_secret_post or private_key_jwt. */
  method: string;
  confidential: boolean;
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Client authentication at the token, revocation and introspection endpoints:
 * none (public clients, PKCE), client_secret_basic / client_secret_post
 * (secrets compared by hash in constant time), private_key_jwt (RFC 7523:
 * iss = sub = client_id, aud the token endpoint or the issuer, short expiry,
 * jti never accepted twice). Every failure is Unauthenticated invalid_client.
 */
export function createClientAuthenticator(deps: ClientAuthDeps) {
  const jwksCache = new Map<string, { at: number; keys: JWTVerifyGetKey }>();

  async function keysOf(client: ClientRecord, refetch = false): Promise<JWTVerifyGetKey> {
    if (client.jwks) return createLocalJWKSet(JSON.parse(client.jwks) as JSONWebKeySet);
    if (!client.jwksUri) throw invalidClient("client has no keys for private_key_jwt");
    const cached = jwksCache.get(client.jwksUri);
    if (cached && !refetch && deps.clock.now() - cached.at < JWKS_CACHE_MS) return cached.keys;
    // A client that rotated its keys gets its set fetched again, but at most every 30 s.
    if (cached && refetch && deps.clock.now() - cached.at < JWKS_REFETCH_MS) return cached.keys;
    let set: JSONWebKeySet;
    try {
      const res = await deps.fetch(client.jwksUri, { headers: { accept: "application/json" } });
      if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
      set = JSON.parse(await readLimited(res, JWKS_MAX_BYTES)) as JSONWebKeySet;
      if (!Array.isArray(set.keys)) throw new Error("not a JWK Set");
    } catch {
      throw invalidClient("the client's jwks_uri could not be fetched");
    }
    const keys = createLocalJWKSet(set);
    jwksCache.set(client.jwksUri, { at: deps.clock.now(), keys });
    return keys;
  }

  async function byAssertion(creds: PresentedCredentials): Promise<AuthenticatedClient> {
    if (creds.clientAssertionType !== JWT_BEARER) throw invalidClient(`client_assertion_type: must be ${JWT_BEARER}`);
    let claimed: string;
    try {
      const claims = decodeJwt(creds.clientAssertion);
      claimed = String(claims.sub ?? claims.iss ?? "");
    } catch {
      throw invalidClient("client_assertion: is not a JWT");
    }
    if (creds.clientId && creds.clientId !== claimed) throw invalidClient("client_assertion: its sub does not match client_id");
    const client = await deps.registry.find(claimed).catch(() => undefined);
    if (!client) throw invalidClient("client authentication failed");
    if (client.tokenEndpointAuthMethod !== "private_key_jwt") throw invalidClient("client authentication failed: this client does not use private_key_jwt");
    const now = deps.clock.now();
    const verify = async (keys: JWTVerifyGetKey) =>
      jwtVerify(creds.clientAssertion, keys, {
        algorithms: ASSERTION_ALGS,
        issuer: client.clientId,
        subject: client.clientId,
        audience: [creds.endpoint, deps.issuer].filter(Boolean),
        currentDate: new Date(now),
        clockTolerance: CLOCK_SKEW_S,
        requiredClaims: ["exp", "jti", "aud", "iss", "sub"],
      });
    let payload;
    try {
      ({ payload } = await verify(await keysOf(client)));
    } catch (e) {
      if (!(e instanceof joseErrors.JWKSNoMatchingKey) || !client.jwksUri) {
        throw invalidClient("client_assertion: signature, issuer, subject, audience or expiry is not valid");
      }
      try {
        ({ payload } = await verify(await keysOf(client, true)));
      } catch {
        throw invalidClient("client_assertion: no key of the client's jwks_uri verifies it");
      }
    }
    const exp = Number(payload.exp);
    if (exp * 1000 > now + (MAX_ASSERTION_LIFETIME_S + CLOCK_SKEW_S) * 1000) {
      throw invalidClient(`client_assertion: exp must be within ${MAX_ASSERTION_LIFETIME_S} seconds`);
    }
    const jti = String(payload.jti);
    if (jti.length === 0 || jti.length > 256) throw invalidClient("client_assertion: jti is missing or too long");
    if (!(await deps.assertions.remember(client.clientId, jti, exp * 1000 + CLOCK_SKEW_S * 1000))) {
      throw invalidClient("client_assertion: this assertion was already used (jti replay)");
    }
    return { client, method: "private_key_jwt", confidential: true };
  }

  return {
    /**
     * Authenticates the caller. Public clients pass with their client_id
     * alone; a confidential client must prove itself with its registered kind
     * of credential.
     */
    async authenticate(creds: PresentedCredentials): Promise<AuthenticatedClient> {
      let result: AuthenticatedClient;
      if (creds.clientAssertion || creds.clientAssertionType) {
        if (creds.clientSecret) throw invalidRequest("client authentication: use one method only");
        result = await byAssertion(creds);
      } else {
        if (!creds.clientId) throw invalidClient("client_id: is required (client authentication failed)");
        const client = await deps.registry.find(creds.clientId).catch(() => undefined);
        if (!client) throw invalidClient("client authentication failed");
        if (creds.clientSecret) {
          if (!client.secretHash || !SECRET_METHODS.includes(client.tokenEndpointAuthMethod)) {
            throw invalidClient("client authentication failed: this client does not use a client secret");
          }
          if (!sameSecret(hashSecret(creds.clientSecret), client.secretHash)) throw invalidClient("client authentication failed");
          result = { client, method: creds.method === "client_secret_basic" ? "client_secret_basic" : "client_secret_post", confidential: true };
        } else {
          if (client.tokenEndpointAuthMethod !== "none") {
            throw invalidClient(`client authentication failed: this client must authenticate with ${client.tokenEndpointAuthMethod}`);
          }
          result = { client, method: "none", confidential: false };
        }
      }
      await deps.registry.touch(result.client.clientId);
      return result;
    },
  };
}

export type ClientAuthenticator = ReturnType<typeof createClientAuthenticator>;

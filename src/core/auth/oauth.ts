import type { Knex } from "knex";
import type { Clock } from "../clock.js";
import { createOutboundFetch, type OutboundFetch } from "../net/outbound.js";
import { createAccessTokenRepository } from "../store/access-tokens.js";
import { createClientAssertionRepository } from "../store/client-assertions.js";
import { createClientRepository } from "../store/clients.js";
import { createCodeRepository } from "../store/codes.js";
import { createGrantRepository } from "../store/grants.js";
import { createInteractionRepository } from "../store/interactions.js";
import { createRefreshTokenRepository } from "../store/refresh-tokens.js";
import { createSessionRepository } from "../store/sessions.js";
import type { UserRepository } from "../store/users.js";
import type { CoreTelemetry } from "../telemetry.js";
import type { AccessTokens } from "./access-tokens.js";
import { createAuthorization } from "./authorization.js";
import { createClientAuthenticator } from "./client-auth.js";
import { createClientRegistry } from "./clients.js";
import { createGrants } from "./grants.js";
import { createIdTokens } from "./id-token.js";
import type { KeyRing } from "./keys.js";
import { createLoginSessions } from "./sessions.js";
import { createThrottle, type ThrottleLimits } from "./throttle.js";
import { REFRESH_GRACE_MS, REFRESH_LIFETIME_MS, createTokenEndpoint } from "./token-endpoint.js";
import { createTokenIntrospection } from "./token-introspection.js";

export interface OAuthDeps {
  knex: Knex;
  /** PostgreSQL shares throttling counters between replicas through the database. */
  dialect?: "sqlite" | "postgres";
  issuer: string;
  mcpResource: string;
  resources: string[];
  accessTokenTtl: number;
  allowPrivateNetwork: boolean;
  clientReapDays: number;
  keys: KeyRing;
  accessTokens: AccessTokens;
  users: UserRepository;
  clock: Clock;
  /** Tests may pass their own limits; the defaults are the production ones. */
  limits?: ThrottleLimits;
  /** The SSRF-guarded fetch for metadata documents and jwks_uri; built from allowPrivateNetwork by default. */
  fetch?: OutboundFetch;
  /** Where failed sign-ins are reported (counted and logged without the email or password). */
  telemetry?: Pick<CoreTelemetry, "loginFailed">;
}

const SWEEP_EVERY_MS = 3600_000;

/**
 * The OAuth 2.1 authorization server's domain, wired over one database: client
 * registry, login sessions, the authorization flow, the token endpoint,
 * revocation/introspection, grants, and the background sweep.
 */
export function createOAuth(deps: OAuthDeps) {
  const { knex, clock } = deps;
  const fetch = deps.fetch ?? createOutboundFetch({ allowPrivateNetwork: deps.allowPrivateNetwork, timeoutMs: 5000 });
  const accessTokenRows = createAccessTokenRepository(knex);
  const grantRows = createGrantRepository(knex);
  const codes = createCodeRepository(knex);
  const refreshTokens = createRefreshTokenRepository(knex);
  const interactionRows = createInteractionRepository(knex);
  const sessionRows = createSessionRepository(knex);
  const assertions = createClientAssertionRepository(knex);
  const throttle = createThrottle(deps.limits, { knex, dialect: deps.dialect ?? "sqlite" });
  const grants = createGrants({ grants: grantRows, clock });
  const registry = createClientRegistry({
    clients: createClientRepository(knex),
    grants: grantRows,
    accessTokens: accessTokenRows,
    clock,
    fetch,
    allowPrivateNetwork: deps.allowPrivateNetwork,
    throttle,
    reapDays: deps.clientReapDays,
  });
  const sessions = createLoginSessions({ sessions: sessionRows, users: deps.users, clock });
  const clientAuth = createClientAuthenticator({ issuer: deps.issuer, registry, assertions, fetch, clock });
  const idTokens = createIdTokens({ issuer: deps.issuer, keys: deps.keys, clock, ttlSeconds: deps.accessTokenTtl });
  const authorization = createAuthorization({
    issuer: deps.issuer,
    mcpResource: deps.mcpResource,
    resources: deps.resources,
    registry,
    sessions,
    grants,
    interactions: interactionRows,
    codes,
    users: deps.users,
    throttle,
    clock,
    telemetry: deps.telemetry,
  });
  const tokenEndpoint = createTokenEndpoint({
    resources: deps.resources,
    mcpResource: deps.mcpResource,
    accessTokenTtl: deps.accessTokenTtl,
    refreshLifetimeMs: REFRESH_LIFETIME_MS,
    refreshGraceMs: REFRESH_GRACE_MS,
    clientAuth,
    codes,
    refreshTokens,
    grants,
    users: deps.users,
    accessTokens: deps.accessTokens,
    idTokens,
    clock,
  });
  const introspection = createTokenIntrospection({
    issuer: deps.issuer,
    clientAuth,
    accessTokens: deps.accessTokens,
    accessTokenRows,
    refreshTokens,
    grants,
    clock,
  });

  /** One pass of housekeeping: reap idle dynamic clients, forget expired rows. */
  async function sweep(): Promise<{ reapedClients: number }> {
    const now = clock.now();
    const reapedClients = await registry.reap();
    await interactionRows.purge(now);
    await sessionRows.purge(now);
    await assertions.purge(now);
    // Expired codes and refresh tokens are kept a day so a late replay is still recognised.
    await codes.purge(now - 24 * 3600_000);
    await refreshTokens.purge(now - 24 * 3600_000);
    await accessTokenRows.purgeExpired(now - 24 * 3600_000);
    if (deps.dialect === "postgres") await knex("rate_limits").where("expire", "<", Date.now() - 3600_000).delete();
    return { reapedClients };
  }

  return {
    registry,
    sessions,
    grants,
    clientAuth,
    authorization,
    tokenEndpoint,
    introspection,
    throttle,
    sweep,
    /**
     * Runs the sweep now and every hour; returns the stop function, which
     * waits for a sweep in flight so the database is never closed under it
     * (a query left pending on a closed SQLite handle keeps the process alive).
     */
    startSweeper(onError: (e: unknown) => void = () => undefined): () => Promise<void> {
      let running: Promise<void> = Promise.resolve();
      const run = () => {
        running = sweep().then(() => undefined, onError);
      };
      run();
      const timer = setInterval(run, SWEEP_EVERY_MS);
      timer.unref();
      return async () => {
        clearInterval(timer);
        await running;
      };
    },
  };
}

export type OAuth = ReturnType<typeof createOAuth>;

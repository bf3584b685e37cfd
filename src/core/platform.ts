import { randomBytes } from "node:crypto";
import type { Config } from "../config.js";
import { createAccessTokens } from "./auth/access-tokens.js";
import { createKeyRing } from "./auth/keys.js";
import { createOAuth } from "./auth/oauth.js";
import { createUserAccounts } from "./auth/users.js";
import { type Clock, systemClock } from "./clock.js";
import { ensureBuiltinAgents } from "./agents/builtin/register.js";
import { registerConfiguredAgents } from "./mesh/configured-agents.js";
import { createMeshEngine } from "./mesh/engine.js";
import { createRegistry } from "./mesh/registry.js";
import { createSearchIndex } from "./mesh/search.js";
import { createAccessTokenRepository } from "./store/access-tokens.js";
import { createAgentRepository } from "./store/agents.js";
import { type Database, openDatabase } from "./store/db.js";
import { createSessionRepository } from "./store/sessions.js";
import { createSigningKeyRepository } from "./store/signing-keys.js";
import { type CoreTelemetry, observeVerifier, quietTelemetry } from "./telemetry.js";
import { createUserRepository } from "./store/users.js";
import { watchWrites } from "./store/write-watch.js";

export type PlatformConfig = Pick<
  Config,
  "issuer" | "mcpResource" | "resources" | "accessTokenTtl" | "adminEmail" | "adminPassword" | "databaseUrl" | "sqliteFile"
> &
  Partial<Pick<Config, "healthCheckIntervalSeconds" | "taskTimeoutSeconds" | "maxTaskTimeoutSeconds" | "openai">> &
  Partial<Pick<Config, "workflowMaxSteps" | "workflowMaxFanOut" | "workflowTimeoutSeconds">> &
  Partial<Pick<Config, "allowPrivateNetwork" | "clientReapDays">>;

/**
 * The core's domain, wired once over one database: what the RPC services and
 * the CLI both use, so a CLI command and its RPC run the very same code.
 */
export function createPlatform(config: PlatformConfig, db: Database, clock: Clock = systemClock, telemetry: CoreTelemetry = quietTelemetry()) {
  const users = createUserRepository(db.knex);
  const keys = createKeyRing(createSigningKeyRepository(db.knex), clock);
  // Every refusal is counted and logged with its reason (the one verifier, observed).
  const accessTokens = observeVerifier(
    createAccessTokens({
      issuer: config.issuer,
      resources: config.resources,
      keys,
      tokens: createAccessTokenRepository(db.knex),
      users,
      clock,
      // RPCs reuse a verdict for at most a second; a revocation made in this process is seen at once.
      writes: watchWrites(db.knex, ["access_tokens", "grants", "users", "signing_keys"]),
    }),
    telemetry,
  );
  const sessionRows = createSessionRepository(db.knex);
  const accounts = createUserAccounts({ users, clock, endSessions: (userId) => sessionRows.deleteForUser(userId) });
  // list() reads the agents table at most once a second; a change made in this process shows at once.
  const registry = createRegistry({ agents: createAgentRepository(db.knex), clock, writes: watchWrites(db.knex, ["agents"]) });
  const search = createSearchIndex({ knex: db.knex, issuer: config.issuer, clock });
  const mesh = createMeshEngine(
    {
      allowPrivateNetwork: config.allowPrivateNetwork ?? false,
      healthCheckIntervalSeconds: config.healthCheckIntervalSeconds ?? 60,
      taskTimeoutSeconds: config.taskTimeoutSeconds ?? 300,
      maxTaskTimeoutSeconds: config.maxTaskTimeoutSeconds ?? 3600,
      workflowMaxSteps: config.workflowMaxSteps,
      workflowMaxFanOut: config.workflowMaxFanOut,
      workflowTimeoutSeconds: config.workflowTimeoutSeconds,
    },
    db,
    clock,
    { docs: search, telemetry },
  );
  const oauth = createOAuth({
    knex: db.knex,
    dialect: db.dialect,
    issuer: config.issuer,
    mcpResource: config.mcpResource,
    resources: config.resources,
    accessTokenTtl: config.accessTokenTtl,
    allowPrivateNetwork: config.allowPrivateNetwork ?? false,
    clientReapDays: config.clientReapDays ?? 30,
    keys,
    accessTokens,
    users,
    clock,
    telemetry,
  });
  return { config, db, clock, users, keys, accessTokens, accounts, registry, mesh, oauth, search, telemetry };
}

export type Platform = ReturnType<typeof createPlatform>;

/** Opens the configured database and brings its schema up to date. */
export async function openPlatform(config: PlatformConfig, clock: Clock = systemClock, telemetry?: CoreTelemetry): Promise<Platform> {
  const db = openDatabase({ databaseUrl: config.databaseUrl, sqliteFile: config.sqliteFile });
  try {
    await db.migrate();
  } catch (e) {
    await db.close();
    throw e;
  }
  return createPlatform(config, db, clock, telemetry);
}

export interface BootstrapResult {
  /** Set when this start created the first admin. */
  createdAdmin?: { email: string; generatedPassword?: string };
}

/**
 * First-start duties: a signing key, and an admin when there is no user yet
 * (from MESHAI_ADMIN_EMAIL/PASSWORD, or with a generated password returned once).
 */
export async function bootstrap(platform: Platform): Promise<BootstrapResult> {
  await platform.keys.ensureKey();
  await registerConfiguredAgents(platform.registry, platform.config.openai ?? null);
  // The shipped built-in agents and the docs index, so a fresh install can run and answer tasks.
  await ensureBuiltinAgents(platform.registry);
  await platform.search.indexDocs();
  if ((await platform.accounts.count()) > 0) return {};
  const email = platform.config.adminEmail || "admin@meshai.local";
  const generated = platform.config.adminPassword ? undefined : randomBytes(15).toString("base64url");
  try {
    await platform.accounts.create({ email, name: "Administrator", password: platform.config.adminPassword || generated!, admin: true });
  } catch (e) {
    // Another replica created the first user in the meantime.
    if ((await platform.accounts.count()) > 0) return {};
    throw e;
  }
  return { createdAdmin: { email, generatedPassword: generated } };
}

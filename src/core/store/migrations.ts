import type { Knex } from "knex";
import { searchMigration } from "./search-migration.js";

/**
 * The schema, as an ordered list of migrations kept in code (no migration
 * files to locate at run time). Every migration runs on SQLite and PostgreSQL
 * alike: only portable column types, times as epoch milliseconds, JSON as text.
 *
 * Secrets are stored as SHA-256 hashes (`*_hash` columns): codes, refresh
 * tokens, session ids, client secrets. Passwords are argon2id PHC strings.
 * Signing keys are the one secret stored whole.
 */
interface Migration {
  name: string;
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

const initial: Migration = {
  name: "0001_initial",
  async up(knex) {
    await knex.schema.createTable("users", (t) => {
      t.string("id", 64).primary();
      t.string("email", 320).notNullable().unique();
      t.string("name", 200).notNullable().defaultTo("");
      t.text("password_hash").notNullable();
      t.boolean("admin").notNullable().defaultTo(false);
      t.boolean("disabled").notNullable().defaultTo(false);
      t.bigInteger("created_at").notNullable();
      t.bigInteger("updated_at").notNullable();
      t.bigInteger("last_login_at");
    });

    await knex.schema.createTable("signing_keys", (t) => {
      t.string("kid", 64).primary();
      t.string("alg", 16).notNullable();
      t.text("private_jwk").notNullable();
      t.text("public_jwk").notNullable();
      t.bigInteger("created_at").notNullable();
      // After this time the key no longer signs (rotation); it still verifies.
      t.bigInteger("retired_at");
      // After this time the key leaves the JWKS.
      t.bigInteger("expires_at");
    });

    await knex.schema.createTable("oauth_clients", (t) => {
      t.string("client_id", 2048).primary();
      t.string("secret_hash", 128);
      t.string("name", 200).notNullable().defaultTo("");
      t.text("redirect_uris").notNullable(); // JSON array
      t.string("token_endpoint_auth_method", 40).notNullable();
      t.text("grant_types").notNullable(); // JSON array
      t.text("response_types").notNullable(); // JSON array
      t.text("scope").notNullable().defaultTo("");
      t.text("jwks_uri");
      t.text("jwks"); // JSON
      t.text("client_uri");
      t.text("logo_uri");
      t.string("registration", 20).notNullable(); // dynamic | metadata_document | admin
      t.text("metadata").notNullable().defaultTo("{}"); // JSON as registered
      t.bigInteger("created_at").notNullable();
      t.bigInteger("last_used_at");
      // Metadata-document clients: when the cached document must be fetched again.
      t.bigInteger("refresh_at");
    });

    await knex.schema.createTable("login_sessions", (t) => {
      t.string("id_hash", 128).primary();
      t.string("user_id", 64).notNullable().references("users.id").onDelete("CASCADE");
      t.bigInteger("created_at").notNullable();
      t.bigInteger("expires_at").notNullable();
      t.bigInteger("last_seen_at").notNullable();
      t.string("remote_address", 64);
      t.string("user_agent", 512);
      t.index(["user_id"]);
    });

    await knex.schema.createTable("interactions", (t) => {
      t.string("id", 64).primary();
      t.string("csrf_hash", 128).notNullable();
      t.string("client_id", 2048).notNullable();
      t.text("params").notNullable(); // JSON: the validated authorization request
      t.string("user_id", 64);
      t.bigInteger("created_at").notNullable();
      t.bigInteger("expires_at").notNullable();
    });

    await knex.schema.createTable("grants", (t) => {
      t.string("id", 64).primary();
      t.string("user_id", 64).notNullable().references("users.id").onDelete("CASCADE");
      t.string("client_id", 2048).notNullable();
      t.text("scope").notNullable();
      t.text("resources").notNullable(); // JSON array
      t.bigInteger("created_at").notNullable();
      t.bigInteger("updated_at").notNullable();
      t.bigInteger("last_used_at");
      t.bigInteger("expires_at");
      t.bigInteger("revoked_at");
      t.index(["user_id"]);
      t.index(["client_id"]);
    });

    await knex.schema.createTable("authorization_codes", (t) => {
      t.string("code_hash", 128).primary();
      t.string("grant_id", 64).notNullable();
      t.string("client_id", 2048).notNullable();
      t.string("user_id", 64).notNullable();
      t.text("redirect_uri").notNullable();
      t.string("code_challenge", 128).notNullable();
      t.text("scope").notNullable();
      t.text("resources").notNullable(); // JSON array
      t.string("nonce", 512);
      t.bigInteger("created_at").notNullable();
      t.bigInteger("expires_at").notNullable();
      t.bigInteger("consumed_at");
    });

    await knex.schema.createTable("refresh_tokens", (t) => {
      t.string("token_hash", 128).primary();
      t.string("grant_id", 64).notNullable();
      t.string("client_id", 2048).notNullable();
      t.string("user_id", 64).notNullable();
      t.text("scope").notNullable();
      t.text("resources").notNullable(); // JSON array
      t.string("parent_hash", 128);
      t.bigInteger("created_at").notNullable();
      t.bigInteger("expires_at").notNullable();
      t.bigInteger("used_at");
      t.bigInteger("revoked_at");
      t.index(["grant_id"]);
    });

    // Issued access tokens, so that a revoked grant or user stops its JWTs at once.
    await knex.schema.createTable("access_tokens", (t) => {
      t.string("jti", 64).primary();
      t.string("grant_id", 64);
      t.string("client_id", 2048).notNullable();
      t.string("user_id", 64);
      t.text("scope").notNullable();
      t.bigInteger("created_at").notNullable();
      t.bigInteger("expires_at").notNullable();
      t.bigInteger("revoked_at");
      t.index(["grant_id"]);
      t.index(["user_id"]);
    });

    // private_key_jwt assertions seen, to refuse a replayed jti until it expires.
    await knex.schema.createTable("client_assertions", (t) => {
      t.string("client_id", 2048).notNullable();
      t.string("jti", 256).notNullable();
      t.bigInteger("expires_at").notNullable();
      t.primary(["client_id", "jti"]);
    });

    await knex.schema.createTable("agents", (t) => {
      t.string("id", 128).primary();
      t.string("name", 200).notNullable();
      t.text("description").notNullable().defaultTo("");
      t.string("framework", 64).notNullable().defaultTo("");
      t.text("capabilities").notNullable(); // JSON array
      t.string("protocol", 32).notNullable();
      t.text("endpoint").notNullable().defaultTo("");
      t.text("tags").notNullable().defaultTo("[]"); // JSON array
      t.integer("max_concurrent_tasks").notNullable().defaultTo(4);
      t.string("health", 16).notNullable().defaultTo("unknown");
      t.text("health_detail").notNullable().defaultTo("");
      t.bigInteger("last_health_check_at");
      t.text("config").notNullable().defaultTo("{}"); // JSON
      t.text("credentials"); // JSON, write-only through the API
      t.boolean("enabled").notNullable().defaultTo(true);
      t.double("avg_latency_ms").notNullable().defaultTo(0);
      t.integer("success_count").notNullable().defaultTo(0);
      t.integer("failure_count").notNullable().defaultTo(0);
      t.bigInteger("created_at").notNullable();
      t.bigInteger("updated_at").notNullable();
    });

    await knex.schema.createTable("tasks", (t) => {
      t.string("id", 64).primary();
      t.string("kind", 16).notNullable(); // task | workflow
      t.string("state", 16).notNullable();
      t.string("owner", 64).notNullable();
      t.text("input").notNullable();
      t.text("request").notNullable().defaultTo("{}"); // JSON: what was asked, to resume
      t.text("capabilities").notNullable().defaultTo("[]"); // JSON array
      t.string("agent_id", 128);
      t.text("output").notNullable().defaultTo("");
      t.text("result"); // JSON
      t.text("error").notNullable().defaultTo("");
      t.integer("last_seq").notNullable().defaultTo(0);
      t.string("parent_id", 64);
      t.string("idempotency_key", 200);
      t.bigInteger("created_at").notNullable();
      t.bigInteger("updated_at").notNullable();
      t.bigInteger("ended_at");
      t.index(["owner", "created_at"]);
      t.index(["state"]);
      t.index(["parent_id"]);
      t.unique(["owner", "idempotency_key"]);
    });

    await knex.schema.createTable("task_events", (t) => {
      t.string("task_id", 64).notNullable().references("tasks.id").onDelete("CASCADE");
      t.integer("seq").notNullable();
      t.string("type", 32).notNullable();
      t.text("event").notNullable(); // JSON form of meshai.v1.TaskEvent
      t.bigInteger("created_at").notNullable();
      t.primary(["task_id", "seq"]);
    });

    // A workflow is a task of kind "workflow"; its definition and steps live here.
    await knex.schema.createTable("workflows", (t) => {
      t.string("task_id", 64).primary().references("tasks.id").onDelete("CASCADE");
      t.string("type", 64).notNullable();
      t.text("definition").notNullable(); // JSON, validated
      t.bigInteger("deadline_at");
      t.bigInteger("created_at").notNullable();
      t.bigInteger("updated_at").notNullable();
    });

    await knex.schema.createTable("workflow_steps", (t) => {
      t.string("workflow_id", 64).notNullable().references("tasks.id").onDelete("CASCADE");
      t.string("step_id", 128).notNullable();
      t.string("state", 16).notNullable();
      t.integer("attempts").notNullable().defaultTo(0);
      t.string("agent_id", 128);
      t.text("output");
      t.text("error").notNullable().defaultTo("");
      t.bigInteger("started_at");
      t.bigInteger("ended_at");
      t.primary(["workflow_id", "step_id"]);
    });

    await knex.schema.createTable("workflow_templates", (t) => {
      t.string("name", 128).primary();
      t.text("description").notNullable().defaultTo("");
      t.string("type", 64).notNullable();
      t.text("definition").notNullable(); // JSON with ${params.x} placeholders
      t.text("parameters").notNullable().defaultTo("[]"); // JSON
      t.string("created_by", 64);
      t.bigInteger("created_at").notNullable();
      t.bigInteger("updated_at").notNullable();
    });
  },
  async down(knex) {
    for (const table of [
      "workflow_templates",
      "workflow_steps",
      "workflows",
      "task_events",
      "tasks",
      "agents",
      "client_assertions",
      "access_tokens",
      "refresh_tokens",
      "authorization_codes",
      "grants",
      "interactions",
      "login_sessions",
      "oauth_clients",
      "signing_keys",
      "users",
    ]) {
      await knex.schema.dropTableIfExists(table);
    }
  },
};

/**
 * OAuth: the login time travels with codes and refresh tokens (the id_token's
 * auth_time), and the lookups the token endpoint and revocation make are indexed.
 */
const oauth: Migration = {
  name: "0002_oauth",
  async up(knex) {
    await knex.schema.alterTable("authorization_codes", (t) => {
      t.bigInteger("auth_time");
      t.index(["grant_id"]);
    });
    await knex.schema.alterTable("refresh_tokens", (t) => {
      t.bigInteger("auth_time");
      t.index(["parent_hash"]);
    });
    await knex.schema.alterTable("access_tokens", (t) => {
      t.index(["client_id"]);
    });
    await knex.schema.alterTable("interactions", (t) => {
      t.index(["expires_at"]);
    });
  },
  async down(knex) {
    await knex.schema.alterTable("interactions", (t) => t.dropIndex(["expires_at"]));
    await knex.schema.alterTable("access_tokens", (t) => t.dropIndex(["client_id"]));
    await knex.schema.alterTable("refresh_tokens", (t) => {
      t.dropIndex(["parent_hash"]);
      t.dropColumn("auth_time");
    });
    await knex.schema.alterTable("authorization_codes", (t) => {
      t.dropIndex(["grant_id"]);
      t.dropColumn("auth_time");
    });
  },
};

// Which process runs a task and when it last said so, so that a task whose
// process died is failed (not left "executing" forever) by any replica.
const meshExec: Migration = {
  name: "0003_mesh_exec",
  async up(knex) {
    await knex.schema.alterTable("tasks", (t) => {
      t.string("runner_id", 64);
      t.bigInteger("heartbeat_at");
    });
  },
  async down(knex) {
    await knex.schema.alterTable("tasks", (t) => {
      t.dropColumn("heartbeat_at");
      t.dropColumn("runner_id");
    });
  },
};

// Login and registration throttling shared by every replica on PostgreSQL
// (rate-limiter-flexible's RateLimiterPostgres layout); unused on SQLite, where
// one process serves and the in-memory limiter is exact.
const oauthRateLimits: Migration = {
  name: "0006_oauth_rate_limits",
  async up(knex) {
    await knex.schema.createTable("rate_limits", (t) => {
      t.string("key", 255).primary();
      t.integer("points").notNullable().defaultTo(0);
      t.bigInteger("expire");
    });
  },
  async down(knex) {
    await knex.schema.dropTableIfExists("rate_limits");
  },
};

// Durable workflows: each step remembers the child task of its current run
// (resubmitted under a per-run idempotency key, so a restart finds it again),
// how many runs it has had, and the agent's structured result.
const workflows: Migration = {
  name: "0007_workflows",
  async up(knex) {
    await knex.schema.alterTable("workflow_steps", (t) => {
      t.string("task_id", 64);
      t.integer("runs").notNullable().defaultTo(0);
      t.text("result"); // JSON
    });
  },
  async down(knex) {
    await knex.schema.alterTable("workflow_steps", (t) => {
      t.dropColumn("result");
      t.dropColumn("runs");
      t.dropColumn("task_id");
    });
  },
};

const migrations: Migration[] = [initial, oauth, meshExec, searchMigration, oauthRateLimits, workflows];

/** knex migration source over the in-code list above. */
export const migrationSource: Knex.MigrationSource<Migration> = {
  getMigrations: async () => migrations,
  getMigrationName: (m) => m.name,
  getMigration: async (m) => m,
};

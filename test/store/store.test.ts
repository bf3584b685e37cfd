import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKeyRing } from "../../src/core/auth/keys.js";
import type { Clock } from "../../src/core/clock.js";
import { bootstrap, createPlatform } from "../../src/core/platform.js";
import { createAccessTokenRepository } from "../../src/core/store/access-tokens.js";
import { type AgentRecord, createAgentRepository } from "../../src/core/store/agents.js";
import { type Database, openDatabase } from "../../src/core/store/db.js";
import { createSigningKeyRepository } from "../../src/core/store/signing-keys.js";
import { createUserRepository } from "../../src/core/store/users.js";
import { databaseTargets, freshPostgresDatabase } from "../support/postgres.js";

const TABLES = [
  "users",
  "signing_keys",
  "oauth_clients",
  "login_sessions",
  "interactions",
  "grants",
  "authorization_codes",
  "refresh_tokens",
  "access_tokens",
  "client_assertions",
  "agents",
  "tasks",
  "task_events",
  "workflows",
  "workflow_steps",
  "workflow_templates",
];

const agent = (id: string, over: Partial<AgentRecord> = {}): AgentRecord => ({
  id,
  name: id,
  description: "",
  framework: "langchain",
  capabilities: ["text_generation"],
  protocol: "a2a",
  endpoint: "http://127.0.0.1:9/",
  tags: [],
  maxConcurrentTasks: 4,
  health: "unknown",
  healthDetail: "",
  lastHealthCheckAt: null,
  config: {},
  credentials: null,
  enabled: true,
  avgLatencyMs: 0,
  successCount: 0,
  failureCount: 0,
  createdAt: 1_700_000_000_000,
  updatedAt: 1_700_000_000_000,
  ...over,
});

// The same suite on every database the platform supports.
for (const target of databaseTargets()) {
  describe(`storage on ${target.name}`, () => {
    let db: Database;
    let cleanup: () => Promise<void>;

    beforeAll(async () => {
      if (target.name === "postgres") {
        const fresh = await freshPostgresDatabase(target.url!);
        db = openDatabase({ databaseUrl: fresh.url, sqliteFile: "" });
        cleanup = fresh.drop;
      } else {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "meshai-store-"));
        db = openDatabase({ databaseUrl: "", sqliteFile: path.join(dir, "meshai.sqlite") });
        cleanup = async () => fs.rmSync(dir, { recursive: true, force: true });
      }
      await db.migrate();
    });

    afterAll(async () => {
      await db.close();
      await cleanup();
    });

    describe("migrations", () => {
      it("create every table the platform needs", async () => {
        for (const table of TABLES) expect(await db.knex.schema.hasTable(table), table).toBe(true);
      });

      it("can run again on every start without changing anything", async () => {
        expect(await db.migrate()).toEqual([]);
      });
    });

    describe("users", () => {
      it("round-trips a user and finds it by email whatever the case", async () => {
        const users = createUserRepository(db.knex);
        await users.insert({ id: "usr_1", email: "ana@example.com", name: "Ana", passwordHash: "$argon2id$x", admin: true, disabled: false, createdAt: 1_700_000_000_123, updatedAt: 1_700_000_000_123, lastLoginAt: null });
        const found = await users.find("ANA@example.com");
        expect(found).toEqual({ id: "usr_1", email: "ana@example.com", name: "Ana", passwordHash: "$argon2id$x", admin: true, disabled: false, createdAt: 1_700_000_000_123, updatedAt: 1_700_000_000_123, lastLoginAt: null });
        expect(typeof found!.createdAt).toBe("number");
      });

      it("lets the database refuse a second user with the same email", async () => {
        const users = createUserRepository(db.knex);
        await expect(users.insert({ id: "usr_2", email: "ana@example.com", name: "", passwordHash: "x", admin: false, disabled: false, createdAt: 1, updatedAt: 1, lastLoginAt: null })).rejects.toThrow();
      });

      it("searches by email or name, treating LIKE wildcards literally", async () => {
        const users = createUserRepository(db.knex);
        await users.insert({ id: "usr_3", email: "bo_b@example.com", name: "Bob 100%", passwordHash: "x", admin: false, disabled: false, createdAt: 2, updatedAt: 2, lastLoginAt: null });
        expect((await users.list({ query: "100%", offset: 0, limit: 10 })).map((u) => u.id)).toEqual(["usr_3"]);
        expect((await users.list({ query: "o_b", offset: 0, limit: 10 })).map((u) => u.id)).toEqual(["usr_3"]);
        expect((await users.list({ query: "_", offset: 0, limit: 10 })).map((u) => u.id)).toEqual(["usr_3"]);
      });
    });

    describe("agents", () => {
      it("round-trips JSON, boolean and number columns", async () => {
        const agents = createAgentRepository(db.knex);
        const a = agent("a-json", { capabilities: ["code_generation", "reasoning"], tags: ["x"], config: { model: "m", n: 2 }, credentials: { bearerToken: "t" }, avgLatencyMs: 12.5, enabled: false });
        await agents.insert(a);
        expect(await agents.byId("a-json")).toEqual(a);
      });

      it("filters by framework case-insensitively and hides disabled agents unless asked", async () => {
        const agents = createAgentRepository(db.knex);
        await agents.insert(agent("a-crew", { framework: "crewai" }));
        expect((await agents.list({ framework: "CrewAI" })).map((a) => a.id)).toEqual(["a-crew"]);
        expect((await agents.list({})).map((a) => a.id)).not.toContain("a-json");
        expect((await agents.list({ includeDisabled: true })).map((a) => a.id)).toContain("a-json");
      });

      it("replaces and deletes", async () => {
        const agents = createAgentRepository(db.knex);
        await agents.replace(agent("a-crew", { name: "Crew", framework: "crewai", health: "healthy" }));
        expect(await agents.byId("a-crew")).toMatchObject({ name: "Crew", health: "healthy" });
        expect(await agents.delete("a-crew")).toBe(true);
        expect(await agents.delete("a-crew")).toBe(false);
      });
    });

    describe("tasks and their events", () => {
      it("keeps one event per (task, sequence number) and drops events with their task", async () => {
        const k = db.knex;
        await k("tasks").insert({ id: "tsk_1", kind: "task", state: "pending", owner: "usr_1", input: "x", created_at: 1, updated_at: 1 });
        await k("task_events").insert({ task_id: "tsk_1", seq: 1, type: "accepted", event: "{}", created_at: 1 });
        await expect(k("task_events").insert({ task_id: "tsk_1", seq: 1, type: "accepted", event: "{}", created_at: 1 })).rejects.toThrow();
        await k("task_events").insert({ task_id: "tsk_1", seq: 2, type: "routed", event: "{}", created_at: 2 });
        await k("tasks").where({ id: "tsk_1" }).delete();
        expect(await k("task_events").where({ task_id: "tsk_1" })).toEqual([]);
      });

      it("refuses the same idempotency key twice for one owner", async () => {
        const k = db.knex;
        await k("tasks").insert({ id: "tsk_a", kind: "task", state: "pending", owner: "usr_1", input: "x", idempotency_key: "k1", created_at: 1, updated_at: 1 });
        await expect(k("tasks").insert({ id: "tsk_b", kind: "task", state: "pending", owner: "usr_1", input: "x", idempotency_key: "k1", created_at: 1, updated_at: 1 })).rejects.toThrow();
        await k("tasks").insert({ id: "tsk_c", kind: "task", state: "pending", owner: "usr_2", input: "x", idempotency_key: "k1", created_at: 1, updated_at: 1 });
      });
    });

    describe("signing keys and access tokens", () => {
      it("keeps a retired key verifying until it expires, then drops it from the JWKS", async () => {
        let now = 1_800_000_000_000;
        const clock: Clock = { now: () => now };
        const ring = createKeyRing(createSigningKeyRepository(db.knex), clock);
        await ring.ensureKey();
        const first = (await ring.signingKey()).kid;
        const second = await ring.rotate(60_000);
        expect((await ring.signingKey()).kid).toBe(second);
        expect((await ring.jwks()).keys.map((k) => k.kid)).toEqual(expect.arrayContaining([first, second]));
        expect(await ring.verificationKey(first)).toBeDefined();
        now += 61_000;
        expect(await ring.verificationKey(first)).toBeUndefined();
        expect((await ring.jwks()).keys.map((k) => k.kid)).toEqual([second]);
      });

      it("records tokens by jti, revokes them, and forgets expired ones", async () => {
        const tokens = createAccessTokenRepository(db.knex);
        await tokens.insert({ jti: "j1", grantId: null, clientId: "c", userId: "usr_1", scope: "mcp:read", createdAt: 1, expiresAt: 10, revokedAt: null });
        await tokens.revoke("j1", 5);
        expect(await tokens.byJti("j1")).toMatchObject({ revokedAt: 5, expiresAt: 10 });
        expect(await tokens.purgeExpired(11)).toBe(1);
        expect(await tokens.byJti("j1")).toBeUndefined();
      });
    });

    describe("the platform on this database", () => {
      it("bootstraps a signing key and the first admin, then issues and verifies a token", async () => {
        const platform = createPlatform(
          {
            issuer: "http://localhost:8080",
            mcpResource: "http://localhost:8080/v1/mcp",
            resources: ["http://localhost:8080/v1/mcp", "http://localhost:8080"],
            accessTokenTtl: 3600,
            adminEmail: "",
            adminPassword: "",
            databaseUrl: "",
            sqliteFile: "",
          },
          db,
        );
        await db.knex("users").delete();
        const result = await bootstrap(platform);
        expect(result.createdAdmin?.email).toBe("admin@meshai.local");
        expect(result.createdAdmin?.generatedPassword).toMatch(/^\S{16,}$/);
        expect(await bootstrap(platform)).toEqual({});

        const admin = await platform.users.byEmail("admin@meshai.local");
        expect(admin?.admin).toBe(true);
        expect(admin?.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,p=1,t=2\$/);
        const issued = await platform.accessTokens.issue({ subject: admin!.id, userId: admin!.id, clientId: "test", scope: "mcp:read", audience: "http://localhost:8080/v1/mcp", ttlSeconds: 60 });
        const principal = await platform.accessTokens.verify(issued.token);
        expect(principal).toMatchObject({ subject: admin!.id, scopes: ["mcp:read"], clientId: "test" });
      });
    });
  });
}

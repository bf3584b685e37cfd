import type { Knex } from "knex";
import { toBool, toNumberOrNull } from "./rows.js";

export interface UserRecord {
  id: string;
  email: string;
  name: string;
  passwordHash: string;
  admin: boolean;
  disabled: boolean;
  createdAt: number;
  updatedAt: number;
  lastLoginAt: number | null;
}

function fromRow(row: Record<string, unknown>): UserRecord {
  return {
    id: String(row.id),
    email: String(row.email),
    name: String(row.name ?? ""),
    passwordHash: String(row.password_hash),
    admin: toBool(row.admin),
    disabled: toBool(row.disabled),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    lastLoginAt: toNumberOrNull(row.last_login_at),
  };
}

export interface UserPatch {
  name?: string;
  admin?: boolean;
  disabled?: boolean;
  passwordHash?: string;
  lastLoginAt?: number;
}

/** The users table: the one set of accounts behind OAuth login, the CLI and the console. */
export function createUserRepository(knex: Knex) {
  return {
    async insert(user: UserRecord): Promise<void> {
      await knex("users").insert({
        id: user.id,
        email: user.email,
        name: user.name,
        password_hash: user.passwordHash,
        admin: user.admin,
        disabled: user.disabled,
        created_at: user.createdAt,
        updated_at: user.updatedAt,
        last_login_at: user.lastLoginAt,
      });
    },
    async byId(id: string): Promise<UserRecord | undefined> {
      const row = await knex("users").where({ id }).first();
      return row ? fromRow(row) : undefined;
    },
    async byEmail(email: string): Promise<UserRecord | undefined> {
      const row = await knex("users").where({ email: email.toLowerCase() }).first();
      return row ? fromRow(row) : undefined;
    },
    /** Finds a user by id or by email address. */
    async find(idOrEmail: string): Promise<UserRecord | undefined> {
      return idOrEmail.includes("@") ? this.byEmail(idOrEmail) : this.byId(idOrEmail);
    },
    async list(opts: { query?: string; offset: number; limit: number }): Promise<UserRecord[]> {
      let q = knex("users").orderBy("created_at", "asc").orderBy("id", "asc");
      if (opts.query) {
        const like = `%${opts.query.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
        q = q.where((w) => w.whereRaw("lower(email) like ? escape '\\'", [like]).orWhereRaw("lower(name) like ? escape '\\'", [like]));
      }
      const rows = await q.offset(opts.offset).limit(opts.limit);
      return rows.map(fromRow);
    },
    async count(): Promise<number> {
      const row = await knex("users").count({ n: "*" }).first();
      return Number(row?.n ?? 0);
    },
    /** Administrators who can still sign in: there must always be one. */
    /**
     * Applies a patch that takes an active administrator away (demote or
     * disable) unless no other active administrator would be left. One
     * transaction; on PostgreSQL the active administrators' rows are locked
     * first, so two admins demoting each other at once cannot both succeed
     * (SQLite already runs one write transaction at a time).
     */
    async updateKeepingAnAdmin(id: string, patch: UserPatch, now: number): Promise<boolean> {
      return knex.transaction(async (trx) => {
        const admins = trx("users").where({ admin: true, disabled: false }).select("id");
        const ids = (await (knex.client.config.client === "pg" ? admins.forUpdate() : admins)).map((r) => String(r.id));
        if (!ids.some((other) => other !== id)) return false;
        await trx("users").where({ id }).update(columnsOf(patch, now));
        return true;
      });
    },
    async update(id: string, patch: UserPatch, now: number): Promise<void> {
      await knex("users").where({ id }).update(columnsOf(patch, now));
    },
  };
}

function columnsOf(patch: UserPatch, now: number): Record<string, unknown> {
  const cols: Record<string, unknown> = { updated_at: now };
  if (patch.name !== undefined) cols.name = patch.name;
  if (patch.admin !== undefined) cols.admin = patch.admin;
  if (patch.disabled !== undefined) cols.disabled = patch.disabled;
  if (patch.passwordHash !== undefined) cols.password_hash = patch.passwordHash;
  if (patch.lastLoginAt !== undefined) cols.last_login_at = patch.lastLoginAt;
  return cols;
}

export type UserRepository = ReturnType<typeof createUserRepository>;

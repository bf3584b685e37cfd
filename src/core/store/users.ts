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
    async countActiveAdmins(): Promise<number> {
      const row = await knex("users").where({ admin: true, disabled: false }).count({ n: "*" }).first();
      return Number(row?.n ?? 0);
    },
    async update(id: string, patch: UserPatch, now: number): Promise<void> {
      const cols: Record<string, unknown> = { updated_at: now };
      if (patch.name !== undefined) cols.name = patch.name;
      if (patch.admin !== undefined) cols.admin = patch.admin;
      if (patch.disabled !== undefined) cols.disabled = patch.disabled;
      if (patch.passwordHash !== undefined) cols.password_hash = patch.passwordHash;
      if (patch.lastLoginAt !== undefined) cols.last_login_at = patch.lastLoginAt;
      await knex("users").where({ id }).update(cols);
    },
  };
}

export type UserRepository = ReturnType<typeof createUserRepository>;

import { Code, ConnectError } from "@connectrpc/connect";
import type { Clock } from "../clock.js";
import { newId } from "../ids.js";
import type { UserPatch, UserRecord, UserRepository } from "../store/users.js";
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, hashPassword } from "./passwords.js";

const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/;

function invalid(field: string, why: string): ConnectError {
  return new ConnectError(`${field}: ${why}`, Code.InvalidArgument);
}

export function checkPassword(password: string, field = "password"): void {
  if (password.length < MIN_PASSWORD_LENGTH) throw invalid(field, `must be at least ${MIN_PASSWORD_LENGTH} characters`);
  if (password.length > MAX_PASSWORD_LENGTH) throw invalid(field, `must be at most ${MAX_PASSWORD_LENGTH} characters`);
}

function checkName(name: string): void {
  if (name.length > 200) throw invalid("name", "must be at most 200 characters");
}

/**
 * User accounts: the rules for creating and changing them, shared by the
 * AuthService RPCs, the CLI and first-start bootstrap.
 */
export function createUserAccounts(deps: {
  users: UserRepository;
  clock: Clock;
  /** Called after a password change or a disable: ends the user's browser login sessions. */
  endSessions?: (userId: string) => Promise<void>;
}) {
  const { users, clock } = deps;

  async function mustFind(idOrEmail: string): Promise<UserRecord> {
    if (!idOrEmail) throw invalid("user", "is required (a user id or an email address)");
    const user = await users.find(idOrEmail);
    if (!user) throw new ConnectError(`user ${idOrEmail} not found`, Code.NotFound);
    return user;
  }

  return {
    find: mustFind,

    async create(input: { email: string; name?: string; password: string; admin?: boolean }): Promise<UserRecord> {
      const email = input.email.trim().toLowerCase();
      if (!email) throw invalid("email", "is required");
      if (!EMAIL.test(email)) throw invalid("email", "must be an email address");
      checkName(input.name ?? "");
      checkPassword(input.password);
      if (await users.byEmail(email)) throw new ConnectError(`a user with email ${email} already exists`, Code.AlreadyExists);
      const now = clock.now();
      const user: UserRecord = {
        id: newId("usr"),
        email,
        name: (input.name ?? "").trim(),
        passwordHash: await hashPassword(input.password),
        admin: input.admin ?? false,
        disabled: false,
        createdAt: now,
        updatedAt: now,
        lastLoginAt: null,
      };
      try {
        await users.insert(user);
      } catch (e) {
        // Two creates raced past the check above: the unique index decides.
        if (await users.byEmail(email)) throw new ConnectError(`a user with email ${email} already exists`, Code.AlreadyExists);
        throw e;
      }
      return user;
    },

    async update(idOrEmail: string, patch: Pick<UserPatch, "name" | "admin" | "disabled">): Promise<UserRecord> {
      const user = await mustFind(idOrEmail);
      if (patch.name !== undefined) checkName(patch.name);
      // Nobody could manage the platform any more (not even to undo this) but through the CLI on the server.
      const losesAdmin = user.admin && !user.disabled && (patch.admin === false || patch.disabled === true);
      if (!losesAdmin) await users.update(user.id, patch, clock.now());
      else if (!(await users.updateKeepingAnAdmin(user.id, patch, clock.now()))) {
        throw new ConnectError(
          `user: ${user.email} is the last active administrator; make another user an administrator first`,
          Code.FailedPrecondition,
        );
      }
      if (patch.disabled) await deps.endSessions?.(user.id);
      return (await users.byId(user.id))!;
    },

    async setPassword(idOrEmail: string, password: string): Promise<void> {
      const user = await mustFind(idOrEmail);
      checkPassword(password);
      await users.update(user.id, { passwordHash: await hashPassword(password) }, clock.now());
      // A new password signs every browser out: whoever knew the old one loses their session.
      await deps.endSessions?.(user.id);
    },

    async list(opts: { query?: string; offset: number; limit: number }) {
      return users.list(opts);
    },

    count: () => users.count(),
  };
}

export type UserAccounts = ReturnType<typeof createUserAccounts>;

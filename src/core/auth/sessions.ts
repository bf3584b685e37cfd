import { Code, ConnectError } from "@connectrpc/connect";
import type { Clock } from "../clock.js";
import { hashSecret, newSecret } from "../ids.js";
import type { LoginSessionRecord, SessionRepository } from "../store/sessions.js";
import type { UserRecord, UserRepository } from "../store/users.js";

export const SESSION_TTL_MS = 8 * 3600_000;

export interface LiveSession {
  session: LoginSessionRecord;
  user: UserRecord;
}

/**
 * Browser login sessions. The cookie value is a 256-bit secret handed out
 * once; only its hash is stored. A session of a disabled or deleted user is
 * no session.
 */
export function createLoginSessions(deps: { sessions: SessionRepository; users: UserRepository; clock: Clock }) {
  const { sessions, users, clock } = deps;
  return {
    async open(user: UserRecord, meta: { remoteAddress: string; userAgent: string }): Promise<{ token: string; expiresAt: number; createdAt: number }> {
      const token = newSecret();
      const now = clock.now();
      await sessions.insert({
        idHash: hashSecret(token),
        userId: user.id,
        createdAt: now,
        expiresAt: now + SESSION_TTL_MS,
        lastSeenAt: now,
        remoteAddress: meta.remoteAddress.slice(0, 64) || null,
        userAgent: meta.userAgent.slice(0, 512) || null,
      });
      return { token, expiresAt: now + SESSION_TTL_MS, createdAt: now };
    },

    /** The live session behind a cookie value, or undefined. */
    async find(token: string): Promise<LiveSession | undefined> {
      if (!token || token.length > 200) return undefined;
      const session = await sessions.byHash(hashSecret(token));
      if (!session || session.expiresAt <= clock.now()) return undefined;
      const user = await users.byId(session.userId);
      if (!user || user.disabled) return undefined;
      return { session, user };
    },

    async require(token: string): Promise<LiveSession> {
      const live = await this.find(token);
      if (!live) throw new ConnectError("session_token: no valid login session (log in again)", Code.Unauthenticated);
      return live;
    },

    async end(token: string): Promise<void> {
      if (!token || token.length > 200) return;
      await sessions.delete(hashSecret(token));
    },
  };
}

export type LoginSessions = ReturnType<typeof createLoginSessions>;

import type { Knex } from "knex";
import { type RateLimiterAbstract, RateLimiterMemory, RateLimiterPostgres, RateLimiterRes } from "rate-limiter-flexible";
import { throttled } from "./oauth-errors.js";

/**
 * Throttles for the public OAuth endpoints, on rate-limiter-flexible. On
 * PostgreSQL the counters live in the shared `rate_limits` table, so every
 * replica counts the same attempts (with an in-memory limiter as insurance if
 * the database errors); on SQLite (one process) they are in memory.
 * - login failures: 5 per account and 20 per address in 15 minutes;
 * - dynamic client registrations: 20 per address per hour.
 * A blocked caller gets ResourceExhausted with `retry-after` in seconds.
 */
export interface ThrottleLimits {
  loginPerAccount: number;
  loginPerAddress: number;
  loginWindowSeconds: number;
  registrationsPerAddress: number;
  registrationWindowSeconds: number;
}

export const DEFAULT_LIMITS: ThrottleLimits = {
  loginPerAccount: 5,
  loginPerAddress: 20,
  loginWindowSeconds: 15 * 60,
  registrationsPerAddress: 20,
  registrationWindowSeconds: 60 * 60,
};

const TOO_MANY_LOGINS = "Too many sign-in attempts. Wait a few minutes and try again.";

export function createThrottle(limits: ThrottleLimits = DEFAULT_LIMITS, store?: { knex: Knex; dialect: "sqlite" | "postgres" }) {
  const limiter = (keyPrefix: string, points: number, duration: number): RateLimiterAbstract => {
    const memory = new RateLimiterMemory({ keyPrefix, points, duration });
    if (store?.dialect !== "postgres") return memory;
    return new RateLimiterPostgres({
      storeClient: store.knex,
      storeType: "knex",
      tableName: "rate_limits",
      tableCreated: true,
      clearExpiredByTimeout: false,
      keyPrefix,
      points,
      duration,
      insuranceLimiter: memory,
    });
  };
  const perAccount = limiter("login-account", limits.loginPerAccount, limits.loginWindowSeconds);
  const perAddress = limiter("login-address", limits.loginPerAddress, limits.loginWindowSeconds);
  const registrations = limiter("registration", limits.registrationsPerAddress, limits.registrationWindowSeconds);

  const blockedFor = async (limiter: RateLimiterAbstract, points: number, key: string): Promise<number> => {
    const res = await limiter.get(key);
    return res && res.consumedPoints >= points ? res.msBeforeNext : 0;
  };

  const address = (a: string) => a || "unknown";
  const account = (email: string) => email.trim().toLowerCase();

  return {
    /** Refuses a login attempt while the account or the address is locked out by earlier failures. */
    async checkLogin(email: string, remoteAddress: string): Promise<void> {
      const wait = Math.max(
        await blockedFor(perAccount, limits.loginPerAccount, account(email)),
        await blockedFor(perAddress, limits.loginPerAddress, address(remoteAddress)),
      );
      if (wait > 0) throw throttled(TOO_MANY_LOGINS, wait / 1000);
    },

    /** Counts a failed login; throws ResourceExhausted when a limit was already used up (a racing attempt). */
    async loginFailed(email: string, remoteAddress: string): Promise<void> {
      let wait = 0;
      for (const [limiter, key] of [
        [perAccount, account(email)],
        [perAddress, address(remoteAddress)],
      ] as const) {
        try {
          await limiter.consume(key);
        } catch (e) {
          if (!(e instanceof RateLimiterRes)) throw e;
          wait = Math.max(wait, e.msBeforeNext);
        }
      }
      if (wait > 0) throw throttled(TOO_MANY_LOGINS, wait / 1000);
    },

    /** A successful login clears the account's failures (not the address's). */
    async loginSucceeded(email: string): Promise<void> {
      await perAccount.delete(account(email));
    },

    /** Counts a registration from an address; ResourceExhausted past the limit. */
    async registration(remoteAddress: string): Promise<void> {
      try {
        await registrations.consume(address(remoteAddress));
      } catch (e) {
        if (!(e instanceof RateLimiterRes)) throw e;
        throw throttled("registration: too many clients registered from this address; try again later", e.msBeforeNext / 1000);
      }
    },
  };
}

export type Throttle = ReturnType<typeof createThrottle>;

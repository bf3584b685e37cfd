import type { Config } from "../config.js";
import { openPlatform, type Platform } from "../core/platform.js";

/** A mistake in how the command was called: one line on stderr and exit code 2. */
export class UsageError extends Error {}

/** A password or token from --password, or from standard input with --password-stdin (kept out of `ps`). */
export async function readPassword(opts: { password?: string; passwordStdin?: boolean }): Promise<string> {
  if (opts.password !== undefined) return opts.password;
  if (opts.passwordStdin) {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString("utf8").replace(/\r?\n$/, "");
  }
  throw new UsageError("give the password with --password-stdin (or --password)");
}

/** Opens the platform over the configured database for one command, and closes it after. */
export async function withPlatform(config: Config, fn: (p: Platform) => Promise<void>): Promise<void> {
  const platform = await openPlatform(config);
  try {
    await fn(platform);
  } finally {
    await platform.db.close();
  }
}

/** An ISO time, or `never`/`-` for none. */
export function isoTime(ms: number | null | undefined, none = "-"): string {
  return ms === null || ms === undefined ? none : new Date(ms).toISOString();
}

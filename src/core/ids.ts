import { createHash, randomBytes } from "node:crypto";

/** A new opaque id with a readable prefix, e.g. `usr_3kT...`. */
export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(12).toString("base64url")}`;
}

/** A new secret (token, code, session id) with 256 bits of entropy. */
export function newSecret(): string {
  return randomBytes(32).toString("base64url");
}

/** How secrets are kept at rest: only their SHA-256. */
export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret).digest("base64url");
}

/** Column helpers shared by the repositories: JSON text, booleans and times read alike on SQLite and PostgreSQL. */

export function toJson(value: unknown): string {
  return JSON.stringify(value ?? null);
}

export function fromJson<T>(text: unknown, fallback: T): T {
  if (typeof text !== "string" || text === "") return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

/** SQLite returns 0/1 for booleans, PostgreSQL true/false. */
export function toBool(value: unknown): boolean {
  return value === true || value === 1 || value === "1" || value === "t";
}

export function toNumberOrNull(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  return Number(value);
}

/** Opaque page tokens: the offset into an ordered listing. */
export function encodePageToken(offset: number): string {
  return Buffer.from(`o:${offset}`).toString("base64url");
}

/** Returns the offset, or null when the token is not one of ours. */
export function decodePageToken(token: string): number | null {
  if (!token) return 0;
  const text = Buffer.from(token, "base64url").toString();
  const m = /^o:(\d{1,9})$/.exec(text);
  return m ? Number(m[1]) : null;
}

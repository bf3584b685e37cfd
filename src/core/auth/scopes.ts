/** Every scope the platform knows, with the plain words the consent page shows. */
export const SCOPE_DESCRIPTIONS = {
  openid: "Confirm who you are",
  profile: "See your name",
  email: "See your email address",
  offline_access: "Stay connected when you are away (refresh tokens)",
  "mcp:read": "See MeshAI agents, docs, workflows and your tasks",
  "mcp:execute": "Run tasks and workflows on MeshAI agents",
  "mcp:manage": "Register, change and remove agents (administrators only)",
} as const;

export type Scope = keyof typeof SCOPE_DESCRIPTIONS;

export const ALL_SCOPES = Object.keys(SCOPE_DESCRIPTIONS) as Scope[];

/** The scopes of the MCP resource, as protected resource metadata lists them. */
export const MCP_SCOPES: Scope[] = ["mcp:read", "mcp:execute", "mcp:manage"];

export function isScope(value: string): value is Scope {
  return Object.hasOwn(SCOPE_DESCRIPTIONS, value);
}

/** Splits a space-separated scope string, dropping empties and duplicates. */
export function parseScope(scope: string): string[] {
  return [...new Set(scope.split(" ").filter(Boolean))];
}

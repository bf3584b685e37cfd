import { Code, ConnectError, createContextKey, type HandlerContext, type Interceptor } from "@connectrpc/connect";
import { AuthService } from "../../../gen/meshai/v1/auth_pb.js";
import { MeshService } from "../../../gen/meshai/v1/mesh_pb.js";
import type { AccessTokens, Principal } from "./access-tokens.js";
import type { Scope } from "./scopes.js";

/** What a method needs: nothing ("public") or an access token carrying a scope. */
export type Rule = "public" | Scope;

/**
 * The scope every RPC needs, in one place. Typed over each service's methods
 * so that adding an RPC without deciding its rule does not compile.
 */
const authRules: Record<keyof typeof AuthService.method, Rule> = {
  getServerMetadata: "public",
  getJwks: "public",
  registerClient: "public",
  resolveClient: "public",
  getClient: "mcp:manage",
  listClients: "mcp:manage",
  createClient: "mcp:manage",
  deleteClient: "mcp:manage",
  startAuthorization: "public",
  getInteraction: "public",
  login: "public",
  getLoginSession: "public",
  endLoginSession: "public",
  decideConsent: "public",
  token: "public",
  revoke: "public",
  introspect: "public",
  userInfo: "openid",
  verifyAccessToken: "public",
  createServiceToken: "mcp:manage",
  createUser: "mcp:manage",
  getUser: "mcp:manage",
  listUsers: "mcp:manage",
  updateUser: "mcp:manage",
  setPassword: "mcp:manage",
  listGrants: "mcp:read",
  revokeGrant: "mcp:read",
  // The login session token in the request is the credential.
  startConsoleSignIn: "public",
  createConsoleToken: "public",
};

const meshRules: Record<keyof typeof MeshService.method, Rule> = {
  listAgents: "mcp:read",
  getAgent: "mcp:read",
  registerAgent: "mcp:manage",
  updateAgent: "mcp:manage",
  deleteAgent: "mcp:manage",
  checkAgentHealth: "mcp:read",
  search: "mcp:read",
  fetch: "mcp:read",
  getDoc: "public",
  listDocs: "public",
  executeTask: "mcp:execute",
  submitWorkflow: "mcp:execute",
  getTask: "mcp:read",
  listTasks: "mcp:read",
  watchTask: "mcp:read",
  cancelTask: "mcp:execute",
  putWorkflowTemplate: "mcp:manage",
  getWorkflowTemplate: "mcp:read",
  listWorkflowTemplates: "mcp:read",
  deleteWorkflowTemplate: "mcp:manage",
};

const rules = new Map<string, Rule>();
for (const [service, table] of [
  [AuthService, authRules],
  [MeshService, meshRules],
] as const) {
  for (const [localName, rule] of Object.entries(table)) {
    const method = (service.method as Record<string, { name: string }>)[localName]!;
    rules.set(`/${service.typeName}/${method.name}`, rule);
  }
}

/** The rule for a full method path such as `/meshai.v1.MeshService/ListAgents`; undefined for other services (reflection, health). */
export function ruleFor(path: string): Rule | undefined {
  return rules.get(path);
}

/** The verified caller of the current RPC, set by the auth interceptor. */
export const principalKey = createContextKey<Principal | undefined>(undefined, { description: "meshai principal" });

/** The caller of an RPC that needs a token. */
export function principalOf(ctx: HandlerContext): Principal {
  const p = ctx.values.get(principalKey);
  if (!p) throw new ConnectError("this call needs an access token", Code.Unauthenticated);
  return p;
}

/** The caller, if the request carried a valid token (public RPCs). */
export function optionalPrincipalOf(ctx: HandlerContext): Principal | undefined {
  return ctx.values.get(principalKey);
}

export function hasScope(p: Principal, scope: Scope): boolean {
  return p.scopes.includes(scope);
}

/** Throws PermissionDenied unless the caller may manage the platform. */
export function requireManager(p: Principal): void {
  if (!hasScope(p, "mcp:manage")) throw new ConnectError("this call needs the mcp:manage scope", Code.PermissionDenied);
  if (p.user && !p.user.admin) throw new ConnectError("mcp:manage is for administrators only", Code.PermissionDenied);
}

function bearerToken(header: string | null): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer[ ]+([A-Za-z0-9\-._~+/]+=*)$/i.exec(header.trim());
  if (!m) throw new ConnectError("authorization header must be 'Bearer <token>'", Code.Unauthenticated);
  return m[1];
}

/**
 * Reads `authorization: Bearer`, verifies the token through the one verifier,
 * enforces the method's scope and hands the principal to the handler. Methods
 * of other services (reflection, health) and public methods pass untouched,
 * though a public method still sees a valid token's principal.
 */
export function createAuthInterceptor(tokens: AccessTokens): Interceptor {
  return (next) => async (req) => {
    const rule = ruleFor(`/${req.service.typeName}/${req.method.name}`);
    if (rule === undefined) return next(req);
    const token = rule === "public" ? safeBearer(req.header.get("authorization")) : bearerToken(req.header.get("authorization"));
    if (rule === "public") {
      if (token) {
        const principal = await tokens.verify(token, undefined, { recent: true }).catch(() => undefined);
        if (principal) req.contextValues.set(principalKey, principal);
      }
      return next(req);
    }
    if (!token) throw new ConnectError(`missing access token: this call needs the ${rule} scope`, Code.Unauthenticated);
    // A verdict from the last second will do (AccessTokens VerifyOptions): revocations here are seen at once.
    const principal = await tokens.verify(token, undefined, { recent: true });
    if (!principal.scopes.includes(rule)) {
      throw new ConnectError(`this call needs the ${rule} scope`, Code.PermissionDenied);
    }
    if (rule === "mcp:manage") requireManager(principal);
    req.contextValues.set(principalKey, principal);
    return next(req);
  };
}

function safeBearer(header: string | null): string | undefined {
  try {
    return bearerToken(header);
  } catch {
    return undefined;
  }
}

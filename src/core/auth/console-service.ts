import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import type { AuthService } from "../../../gen/meshai/v1/auth_pb.js";
import type { AccessTokens } from "./access-tokens.js";
import { CONSOLE_SCOPE, createConsoleTokens } from "./console.js";
import type { OAuth } from "./oauth.js";
import { interactionMessage } from "./oauth-service.js";
import { userMessage } from "./service.js";

/** The admin console's two RPCs: sign in through the OAuth login page, then a short-lived token from the session. */
export function createConsoleRpcs(oauth: OAuth, accessTokens: AccessTokens, issuer: string): Partial<ServiceImpl<typeof AuthService>> {
  const tokens = createConsoleTokens({ issuer, sessions: oauth.sessions, accessTokens });
  return {
    async startConsoleSignIn(req) {
      const next = await oauth.authorization.startConsole(req.next, req.sessionToken);
      if (next.kind === "redirect") return { next: { case: "redirectTo", value: next.url } };
      return { next: { case: "login", value: interactionMessage(next.interaction) } };
    },

    async createConsoleToken(req) {
      const issued = await tokens.issue(req.sessionToken);
      return {
        accessToken: issued.token,
        expireTime: timestampFromMs(issued.expiresAt),
        scope: CONSOLE_SCOPE,
        user: userMessage(issued.user),
      };
    },
  };
}

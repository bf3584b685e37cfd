import type { Router } from "@koa/router";
import type { RouteDeps } from "../app.js";
import { serverErrorLog } from "../error-handler.js";
import { assetRoutes } from "../pages/assets.js";
import { STYLESHEET_ASSET } from "../pages/stylesheet.js";
import { authorizeRoutes } from "./authorize.js";
import { consentRoutes } from "./consent.js";
import { createCookies } from "./cookies.js";
import { introspectRoutes } from "./introspect.js";
import { loginRoutes } from "./login.js";
import { logoutRoutes } from "./logout.js";
import { registerRoutes } from "./register.js";
import { browserEndpoint } from "./responses.js";
import { revokeRoutes } from "./revoke.js";
import { tokenRoutes } from "./token.js";
import { userinfoRoutes } from "./userinfo.js";

/**
 * The OAuth 2.1 authorization server's HTTP face: the browser pages
 * (authorize, login, consent, logout) and the machine endpoints (token,
 * register, revoke, introspect, userinfo). Discovery and JWKS live in
 * discovery.ts. Every decision is the core's; these routes translate.
 */
export function oauthRoutes(router: Router, deps: RouteDeps): void {
  const cookies = createCookies(deps.config);
  const browser = browserEndpoint(serverErrorLog(deps.observability.logger));
  authorizeRoutes(router, deps, cookies, browser);
  loginRoutes(router, deps, cookies, browser);
  consentRoutes(router, deps, cookies, browser);
  logoutRoutes(router, deps, cookies, browser);
  tokenRoutes(router, deps);
  registerRoutes(router, deps);
  revokeRoutes(router, deps);
  introspectRoutes(router, deps);
  userinfoRoutes(router, deps);

  assetRoutes(router, [STYLESHEET_ASSET]);
}

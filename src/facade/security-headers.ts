import helmet from "koa-helmet";
import type { Middleware } from "koa";
import type { Config } from "../config.js";

/**
 * Browser hardening for every response. HSTS only when the issuer is https:
 * sent over plain http it would pin a developer's localhost to https.
 * `form-action` is left out on purpose: browsers apply it to the redirect
 * after the consent form posts, which must reach the client's redirect_uri.
 */
export function securityHeaders(config: Pick<Config, "issuer">): Middleware {
  const https = config.issuer.startsWith("https:");
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        baseUri: ["'self'"],
        frameAncestors: ["'none'"],
        objectSrc: ["'none'"],
        imgSrc: ["'self'", "data:"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        ...(https ? { upgradeInsecureRequests: [] } : {}),
      },
    },
    frameguard: { action: "deny" },
    referrerPolicy: { policy: "no-referrer" },
    strictTransportSecurity: https ? { maxAge: 31536000, includeSubDomains: true } : false,
    xContentTypeOptions: true,
  });
}

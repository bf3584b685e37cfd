import { createHash } from "node:crypto";
import type { Router } from "@koa/router";

/** A file the facade serves from memory (CSP `'self'`: no third-party or inline code). */
export interface Asset {
  path: string;
  /** The path with a content version: pages link this, so a new build is never a stale cache hit. */
  url: string;
  type: string;
  body: string;
  etag: string;
}

export function asset(path: string, type: string, body: string): Asset {
  const version = createHash("sha256").update(body).digest("base64url").slice(0, 16);
  return { path, url: `${path}?v=${version}`, type, body, etag: `"${version}"` };
}

/**
 * Serves each asset with its ETag (304 on a match). A request for the current
 * version may be cached for good; an unversioned one for an hour.
 */
export function assetRoutes(router: Router, assets: readonly Asset[]): void {
  for (const a of assets) {
    router.get(a.path, (ctx) => {
      const current = ctx.query.v === a.etag.slice(1, -1);
      ctx.set("Cache-Control", current ? "public, max-age=31536000, immutable" : "public, max-age=3600");
      ctx.set("ETag", a.etag);
      if (ctx.get("if-none-match") === a.etag) {
        ctx.status = 304;
        return;
      }
      ctx.type = a.type;
      ctx.body = a.body;
    });
  }
}

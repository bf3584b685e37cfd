import { Code, ConnectError } from "@connectrpc/connect";
import type { Clock } from "../clock.js";
import { newId } from "../ids.js";
import type { GrantRecord, GrantRepository } from "../store/grants.js";

/**
 * Grants: a user's approval of a client, remembered so the consent page is
 * shown once per (user, client, scopes, resources). Revoking one revokes
 * every code, refresh token and access token issued under it at once.
 */
export function createGrants(deps: { grants: GrantRepository; clock: Clock }) {
  const { grants, clock } = deps;
  return {
    /** The live grant that already covers these scopes and resources, if any. */
    async covering(userId: string, clientId: string, scopes: string[], resources: string[]): Promise<GrantRecord | undefined> {
      const g = await grants.active(userId, clientId, clock.now());
      if (!g) return undefined;
      const have = new Set(g.scope.split(" ").filter(Boolean));
      const res = new Set(g.resources);
      return scopes.every((s) => have.has(s)) && resources.every((r) => res.has(r)) ? g : undefined;
    },

    /** Records an approval: widens the live grant of this user to this client, or opens one. */
    async approve(userId: string, clientId: string, scopes: string[], resources: string[]): Promise<GrantRecord> {
      const now = clock.now();
      const live = await grants.active(userId, clientId, now);
      if (live) {
        const scope = [...new Set([...live.scope.split(" ").filter(Boolean), ...scopes])].join(" ");
        const res = [...new Set([...live.resources, ...resources])];
        await grants.widen(live.id, scope, res, now);
        return { ...live, scope, resources: res, updatedAt: now };
      }
      const g: GrantRecord = {
        id: newId("grt"),
        userId,
        clientId,
        scope: scopes.join(" "),
        resources,
        createdAt: now,
        updatedAt: now,
        lastUsedAt: null,
        expiresAt: null,
        revokedAt: null,
      };
      await grants.insert(g);
      return g;
    },

    async live(id: string): Promise<GrantRecord | undefined> {
      const g = await grants.byId(id);
      if (!g || g.revokedAt !== null || (g.expiresAt !== null && g.expiresAt <= clock.now())) return undefined;
      return g;
    },

    async get(id: string): Promise<GrantRecord> {
      const g = await grants.byId(id);
      if (!g || g.revokedAt !== null) throw new ConnectError(`grant ${id} not found`, Code.NotFound);
      return g;
    },

    revoke: (id: string) => grants.revoke(id, clock.now()),

    /** Revokes every live grant of a user and/or a client; returns how many. */
    async revokeAll(filter: { userId?: string; clientId?: string }): Promise<number> {
      let n = 0;
      for (const id of await grants.liveIds(filter)) if (await grants.revoke(id, clock.now())) n++;
      return n;
    },

    touch: (id: string) => grants.touch(id, clock.now()),
    list: grants.list,
    liveCount: grants.liveCount,
    activeRefreshCount: (id: string) => grants.activeRefreshCount(id, clock.now()),
  };
}

export type Grants = ReturnType<typeof createGrants>;

import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { databaseTargets } from "../../support/postgres.js";
import { ADMIN_EMAIL, PASSWORD, type OAuthCore, startOAuthCore } from "./support.js";

for (const target of databaseTargets()) {
  describe(`the last active administrator cannot be disabled or demoted (${target.name})`, () => {
    let t: OAuthCore;
    beforeAll(async () => {
      t = await startOAuthCore(target);
    });
    afterAll(() => t?.close());

    it("refuses with FailedPrecondition naming the user while they are the only one, allows it once there is another", async () => {
      const accounts = t.core.platform.accounts;
      for (const patch of [{ admin: false }, { disabled: true }]) {
        const e = await accounts.update(ADMIN_EMAIL, patch).then(
          () => undefined,
          (err: unknown) => err,
        );
        expect(e).toBeInstanceOf(ConnectError);
        expect((e as ConnectError).code).toBe(Code.FailedPrecondition);
        expect((e as ConnectError).rawMessage).toMatch(/^user: admin@example.com is the last active administrator/);
      }
      // A disabled administrator does not count.
      await accounts.create({ email: "sleeping-admin@example.com", password: PASSWORD, admin: true });
      await accounts.update("sleeping-admin@example.com", { disabled: true });
      await expect(accounts.update(ADMIN_EMAIL, { admin: false })).rejects.toThrow(/last active administrator/);
      await accounts.update("sleeping-admin@example.com", { disabled: false });
      expect((await accounts.update(ADMIN_EMAIL, { admin: false })).admin).toBe(false);
      // Renaming or re-enabling never trips the rule.
      expect((await accounts.update("sleeping-admin@example.com", { name: "Still here" })).name).toBe("Still here");
    });

    it("two administrators demoting each other at the same moment leave exactly one administrator", async () => {
      const accounts = t.core.platform.accounts;
      const pair = ["duel-a@example.com", "duel-b@example.com"];
      for (const email of pair) await accounts.create({ email, password: PASSWORD, admin: true });
      // Leave the two of them as the only active administrators.
      for (const u of await accounts.list({ offset: 0, limit: 1000 })) {
        if (u.admin && !u.disabled && !pair.includes(u.email)) await accounts.update(u.email, { admin: false });
      }
      const outcomes = await Promise.allSettled(pair.map((email) => accounts.update(email, { admin: false })));
      expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(1);
      const admins = (await accounts.list({ offset: 0, limit: 1000 })).filter((u) => u.admin && !u.disabled);
      expect(admins.map((u) => u.email)).toHaveLength(1);
    });
  });
}

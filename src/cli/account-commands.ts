import type { Command } from "commander";
import type { Config } from "../config.js";
import { isoTime, withPlatform } from "./support.js";

/**
 * `meshai user show` and `meshai client show`: what the console's user and
 * client pages show (never a password hash or client secret hash), with the
 * number of live grants behind each.
 */
export function addAccountShowCommands(user: Command, client: Command, config: () => Config): void {
  user
    .command("show <user>")
    .description("show one user (by email or id): status, admin, last sign-in, live grants")
    .option("--json", "print JSON")
    .action(async (who: string, opts: { json?: boolean }) => {
      await withPlatform(config(), async (p) => {
        const { passwordHash: _hidden, ...u } = await p.accounts.find(who);
        const grants = await p.oauth.grants.liveCount({ userId: u.id });
        if (opts.json) {
          console.log(JSON.stringify({ ...u, liveGrants: grants }, null, 2));
          return;
        }
        console.log(`email        ${u.email}`);
        console.log(`id           ${u.id}`);
        console.log(`name         ${u.name || "-"}`);
        console.log(`status       ${u.disabled ? "disabled" : "active"}${u.admin ? ", administrator" : ""}`);
        console.log(`created      ${isoTime(u.createdAt)}`);
        console.log(`last sign-in ${isoTime(u.lastLoginAt, "never")}`);
        console.log(`live grants  ${grants}`);
      });
    });

  client
    .command("show <client_id>")
    .description("show one OAuth client: how registered, redirect URIs, auth method, grant types, last use, live grants")
    .option("--json", "print JSON")
    .action(async (clientId: string, opts: { json?: boolean }) => {
      await withPlatform(config(), async (p) => {
        const { secretHash: _hidden, ...c } = await p.oauth.registry.get(clientId);
        const grants = await p.oauth.grants.liveCount({ clientId: c.clientId });
        if (opts.json) {
          console.log(JSON.stringify({ ...c, liveGrants: grants }, null, 2));
          return;
        }
        console.log(`client_id     ${c.clientId}`);
        console.log(`name          ${c.name || "-"}`);
        console.log(`registered by ${c.registration}`);
        console.log(`redirect URIs ${c.redirectUris.join(" ") || "-"}`);
        console.log(`auth method   ${c.tokenEndpointAuthMethod}`);
        console.log(`grant types   ${c.grantTypes.join(" ") || "-"}`);
        console.log(`scope         ${c.scope || "(any)"}`);
        console.log(`created       ${isoTime(c.createdAt)}`);
        console.log(`last used     ${isoTime(c.lastUsedAt, "never")}`);
        console.log(`live grants   ${grants}`);
      });
    });
}

import { Command, Option } from "commander";
import { type Config, ConfigError, loadConfig } from "./config.js";
import { issueServiceToken } from "./core/auth/service.js";
import { startCore } from "./core/server.js";
import { openDatabase } from "./core/store/db.js";
import { addAccountShowCommands } from "./cli/account-commands.js";
import { addAgentAdminCommands } from "./cli/agent-commands.js";
import { readPassword, UsageError, withPlatform } from "./cli/support.js";
import { addTaskCommands } from "./cli/task-commands.js";
import { type CoreClients, createCoreClients, createInProcessTransport } from "./facade/core-client.js";
import { startFacade } from "./facade/server.js";
import { createObservability } from "./observability/observability.js";

/**
 * The `meshai` command. `serve` runs the platform; the admin commands work on
 * the database directly through the same domain code the RPCs use, so they
 * work whether or not a server is running.
 */
export function buildCli(env: Record<string, string | undefined> = process.env): Command {
  const program = new Command("meshai")
    .description("MeshAI: multi-agent orchestration behind OAuth 2.1, MCP and gRPC")
    .showHelpAfterError()
    .configureHelp({ sortSubcommands: true });

  const config = (): Config => loadConfig(env);

  program
    .command("serve")
    .description("run the platform: the gRPC core and the HTTP/MCP facade")
    .addOption(new Option("--role <role>", "which part to run").choices(["all", "core", "facade"]).default("all"))
    .action(async (opts: { role: "all" | "core" | "facade" }) => {
      await serve(config(), opts.role);
    });

  program
    .command("migrate")
    .description("bring the database schema up to date (also done on every start)")
    .action(async () => {
      const cfg = config();
      const db = openDatabase({ databaseUrl: cfg.databaseUrl, sqliteFile: cfg.sqliteFile });
      try {
        const applied = await db.migrate();
        console.log(applied.length ? `applied ${applied.join(", ")}: schema is up to date (${db.dialect})` : `schema was already up to date (${db.dialect})`);
      } finally {
        await db.close();
      }
    });

  const user = program.command("user").description("manage user accounts");
  user
    .command("add")
    .description("create a user")
    .requiredOption("--email <email>", "the user's email address (their login)")
    .option("--name <name>", "display name", "")
    .option("--password <password>", "the password (prefer --password-stdin: arguments show in ps)")
    .option("--password-stdin", "read the password from standard input")
    .option("--admin", "make the user an administrator (may hold mcp:manage)", false)
    .action(async (opts: { email: string; name: string; password?: string; passwordStdin?: boolean; admin: boolean }) => {
      const password = await readPassword(opts);
      await withPlatform(config(), async (p) => {
        const u = await p.accounts.create({ email: opts.email, name: opts.name, password, admin: opts.admin });
        console.log(`created user ${u.email} (${u.id})${u.admin ? " as administrator" : ""}`);
      });
    });
  user
    .command("list")
    .description("list users")
    .option("--query <text>", "only users whose email or name contains this")
    .option("--json", "print JSON")
    .action(async (opts: { query?: string; json?: boolean }) => {
      await withPlatform(config(), async (p) => {
        const rows = await p.accounts.list({ query: opts.query, offset: 0, limit: 10_000 });
        if (opts.json) {
          console.log(JSON.stringify(rows.map(({ passwordHash: _hidden, ...u }) => u), null, 2));
          return;
        }
        for (const u of rows) {
          console.log(`${u.email}\t${u.id}\t${u.admin ? "admin" : "user"}\t${u.disabled ? "disabled" : "active"}\t${u.name}`);
        }
      });
    });
  for (const [name, disabled] of [
    ["disable", true],
    ["enable", false],
  ] as const) {
    user
      .command(`${name} <user>`)
      .description(`${name} a user (by email or id)${disabled ? ": they can no longer log in and their tokens stop working" : ""}`)
      .action(async (who: string) => {
        await withPlatform(config(), async (p) => {
          const u = await p.accounts.update(who, { disabled });
          console.log(`${u.email} is ${u.disabled ? "disabled" : "enabled"}`);
        });
      });
  }
  user
    .command("admin <user>")
    .description("make a user (by email or id) an administrator, who may hold mcp:manage; --remove takes it back")
    .option("--remove", "remove the administrator role instead", false)
    .action(async (who: string, opts: { remove: boolean }) => {
      await withPlatform(config(), async (p) => {
        const u = await p.accounts.update(who, { admin: !opts.remove });
        console.log(`${u.email} is ${u.admin ? "an administrator" : "no longer an administrator"}`);
      });
    });
  user
    .command("passwd <user>")
    .description("set a user's password (by email or id)")
    .option("--password <password>", "the new password (prefer --password-stdin)")
    .option("--password-stdin", "read the password from standard input")
    .action(async (who: string, opts: { password?: string; passwordStdin?: boolean }) => {
      const password = await readPassword(opts);
      await withPlatform(config(), async (p) => {
        await p.accounts.setPassword(who, password);
        console.log(`password changed for ${who}`);
      });
    });

  const token = program.command("token").description("issue access tokens for internal services");
  token
    .command("create")
    .description("issue an access token acting for a user; prints only the token")
    .requiredOption("--user <email>", "the user the token acts for")
    .option("--scope <scopes>", "space-separated scopes", "mcp:read")
    .option("--resource <url>", "audience: one of the platform's resources (default: the MCP resource)")
    .option("--ttl <seconds>", "lifetime in seconds (default: MESHAI_ACCESS_TOKEN_TTL)")
    .action(async (opts: { user: string; scope: string; resource?: string; ttl?: string }) => {
      const cfg = config();
      if (opts.ttl !== undefined && !/^[1-9]\d*$/.test(opts.ttl)) throw new UsageError("--ttl takes a whole number of seconds above 0");
      await withPlatform(cfg, async (p) => {
        await p.keys.ensureKey();
        const res = await issueServiceToken(
          { accounts: p.accounts, accessTokens: p.accessTokens, mcpResource: cfg.mcpResource, resources: cfg.resources, accessTokenTtl: cfg.accessTokenTtl },
          { email: opts.user, scope: opts.scope, resource: opts.resource ?? "", ttlSeconds: Number(opts.ttl ?? 0) },
        );
        console.log(res.accessToken);
      });
    });

  const client = program.command("client").description("manage OAuth clients");
  client
    .command("add")
    .description("add an OAuth client (prints its id, and its secret once)")
    .requiredOption("--name <name>", "the name users see on the consent page")
    .option("--redirect-uri <uri...>", "redirect URIs (https, or http on loopback)", [])
    .addOption(
      new Option("--auth-method <method>", "how the client authenticates at the token endpoint")
        .choices(["none", "client_secret_basic", "client_secret_post", "private_key_jwt"])
        .default("client_secret_basic"),
    )
    .option("--grant-type <type...>", "grant types (authorization_code, refresh_token, client_credentials)")
    .option("--scope <scopes>", "space-separated scopes the client may ask for (default: all)")
    .option("--jwks-uri <url>", "the client's JWK Set URL, for private_key_jwt")
    .option("--json", "print JSON")
    .action(async (opts: { name: string; redirectUri: string[]; authMethod: string; grantType?: string[]; scope?: string; jwksUri?: string; json?: boolean }) => {
      await withPlatform(config(), async (p) => {
        const grantTypes = opts.grantType ?? (opts.redirectUri.length ? ["authorization_code", "refresh_token"] : ["client_credentials"]);
        const { client: c, clientSecret } = await p.oauth.registry.createByAdmin({
          client_name: opts.name,
          redirect_uris: opts.redirectUri,
          token_endpoint_auth_method: opts.authMethod,
          grant_types: grantTypes,
          ...(opts.scope ? { scope: opts.scope } : {}),
          ...(opts.jwksUri ? { jwks_uri: opts.jwksUri } : {}),
        });
        if (opts.json) {
          console.log(JSON.stringify({ client_id: c.clientId, ...(clientSecret ? { client_secret: clientSecret } : {}), ...c.metadata }, null, 2));
          return;
        }
        console.log(`client_id      ${c.clientId}`);
        if (clientSecret) console.log(`client_secret  ${clientSecret}   (shown only once)`);
      });
    });
  client
    .command("list")
    .description("list OAuth clients: id, how registered (dynamic, metadata_document, admin), auth method, last use, name, redirect URIs")
    .option("--json", "print JSON")
    .action(async (opts: { json?: boolean }) => {
      await withPlatform(config(), async (p) => {
        const rows = await p.oauth.registry.list({ offset: 0, limit: 10_000 });
        if (opts.json) {
          console.log(JSON.stringify(rows.map(({ secretHash: _hidden, ...c }) => c), null, 2));
          return;
        }
        for (const c of rows) {
          const used = c.lastUsedAt ? new Date(c.lastUsedAt).toISOString() : "never used";
          console.log(`${c.clientId}\t${c.registration}\t${c.tokenEndpointAuthMethod}\t${used}\t${c.name}\t${c.redirectUris.join(" ") || "-"}`);
        }
      });
    });
  client
    .command("delete <client_id>")
    .description("delete a client and revoke every grant and token it holds")
    .action(async (clientId: string) => {
      await withPlatform(config(), async (p) => {
        await p.oauth.registry.delete(clientId);
        console.log(`deleted client ${clientId}; its grants and tokens are revoked`);
      });
    });

  const grant = program.command("grant").description("see and revoke what users have approved");
  grant
    .command("list")
    .description("list live grants: id, user, client, scopes, created, last used, live refresh tokens")
    .option("--user <email>", "only this user's grants")
    .option("--client <client_id>", "only grants to this client")
    .option("--json", "print JSON")
    .action(async (opts: { user?: string; client?: string; json?: boolean }) => {
      await withPlatform(config(), async (p) => {
        const userId = opts.user ? (await p.accounts.find(opts.user)).id : undefined;
        const rows = await p.oauth.grants.list({ userId, clientId: opts.client }, { offset: 0, limit: 10_000 });
        const refresh = await Promise.all(rows.map((g) => p.oauth.grants.activeRefreshCount(g.id)));
        if (opts.json) {
          console.log(JSON.stringify(rows.map((g, i) => ({ ...g, activeRefreshTokens: refresh[i] })), null, 2));
          return;
        }
        for (const [i, g] of rows.entries()) {
          const user = await p.users.byId(g.userId);
          const used = g.lastUsedAt ? new Date(g.lastUsedAt).toISOString() : "never used";
          console.log(`${g.id}\t${user?.email ?? g.userId}\t${g.clientId}\t${g.scope}\t${new Date(g.createdAt).toISOString()}\t${used}\t${refresh[i]} live refresh token${refresh[i] === 1 ? "" : "s"}`);
        }
      });
    });
  grant
    .command("revoke [grant_id]")
    .description("revoke a grant, every grant of a user (--user) or of a client (--client), and their tokens at once")
    .option("--user <email>", "revoke every grant of this user")
    .option("--client <client_id>", "revoke every grant made to this client")
    .action(async (grantId: string | undefined, opts: { user?: string; client?: string }) => {
      if (!grantId && !opts.user && !opts.client) throw new UsageError("give a grant id, --user EMAIL or --client ID");
      await withPlatform(config(), async (p) => {
        if (grantId) {
          await p.oauth.grants.get(grantId);
          await p.oauth.grants.revoke(grantId);
          console.log(`revoked grant ${grantId}`);
          return;
        }
        const userId = opts.user ? (await p.accounts.find(opts.user)).id : undefined;
        const n = await p.oauth.grants.revokeAll({ userId, clientId: opts.client });
        console.log(`revoked ${n} grant${n === 1 ? "" : "s"}`);
      });
    });

  const agent = program.command("agent").description("manage the agents the mesh routes tasks to");
  agent
    .command("add")
    .description("register an agent, described in full or imported from an A2A agent card (--card-url)")
    .option("--card-url <url>", "A2A agent card to import name, description and skills from")
    .option("--id <id>", "agent id (default: generated)")
    .option("--name <name>", "display name")
    .option("--description <text>", "what the agent does")
    .option("--framework <name>", "langchain, crewai, autogen, ...")
    .option("--protocol <protocol>", "a2a, openai, langserve, langgraph or meshai_http")
    .option("--endpoint <url>", "base URL of the agent")
    .option("--capability <cap...>", "capabilities, e.g. text_generation code_generation")
    .option("--tag <tag...>", "tags")
    .option("--max-concurrent <n>", "tasks it may run at once", (v) => Number(v))
    .option("--model <model>", "model name (openai protocol)")
    .option("--token-stdin", "read a bearer token for calling the agent from standard input", false)
    .action(async (opts: { cardUrl?: string; id?: string; name?: string; description?: string; framework?: string; protocol?: string; endpoint?: string; capability?: string[]; tag?: string[]; maxConcurrent?: number; model?: string; tokenStdin: boolean }) => {
      const bearerToken = opts.tokenStdin ? await readPassword({ passwordStdin: true }) : "";
      await withPlatform(config(), async (p) => {
        const given = {
          id: opts.id,
          name: opts.name,
          description: opts.description,
          framework: opts.framework,
          protocol: opts.protocol,
          endpoint: opts.endpoint,
          capabilities: opts.capability,
          tags: opts.tag,
          maxConcurrentTasks: opts.maxConcurrent,
          config: opts.model ? { model: opts.model } : undefined,
        };
        const defined = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined));
        const base = opts.cardUrl ? { protocol: "a2a", ...(await p.mesh.importCard(opts.cardUrl)) } : {};
        const a = await p.registry.register({ ...base, ...defined, credentials: bearerToken ? { bearerToken } : null });
        console.log(`registered agent ${a.id} (${a.protocol}: ${a.capabilities.join(", ")})`);
      });
    });
  agent
    .command("list")
    .description("list agents with their health and statistics")
    .option("--capability <cap...>", "only agents having every one of these capabilities")
    .addOption(new Option("--protocol <protocol>", "only agents of this protocol").choices(["a2a", "openai", "langserve", "langgraph", "meshai_http", "builtin"]))
    .addOption(new Option("--health <health>", "only agents in this health state").choices(["unknown", "healthy", "degraded", "unhealthy"]))
    .option("--enabled-only", "leave out disabled agents")
    .option("--json", "print JSON (credentials only as has_credentials)")
    .action(async (opts: { capability?: string[]; protocol?: string; health?: string; enabledOnly?: boolean; json?: boolean }) => {
      await withPlatform(config(), async (p) => {
        const rows = await p.registry.list({ includeDisabled: !opts.enabledOnly, capabilities: opts.capability, protocol: opts.protocol, health: opts.health });
        if (opts.json) {
          console.log(JSON.stringify(rows.map(({ credentials, ...a }) => ({ ...a, hasCredentials: credentials !== null })), null, 2));
          return;
        }
        for (const a of rows) {
          const total = a.successCount + a.failureCount;
          console.log(`${a.id}\t${a.protocol}\t${a.health}\t${a.capabilities.join(",")}\t${total ? `${Math.round((a.successCount / total) * 100)}% of ${total}` : "no tasks"}\t${a.enabled ? "" : "disabled"}`);
        }
      });
    });
  agent
    .command("remove <id>")
    .alias("delete")
    .description("remove an agent from the registry (the console's Delete)")
    .action(async (id: string) => {
      await withPlatform(config(), async (p) => {
        await p.registry.remove(id);
        console.log(`removed agent ${id}`);
      });
    });
  agent
    .command("check <id>")
    .description("probe an agent now and store its health")
    .action(async (id: string) => {
      await withPlatform(config(), async (p) => {
        const v = await p.mesh.healthChecks.check(await p.registry.get(id));
        console.log(`${id}: ${v.health} (${v.detail})`);
      });
    });

  addAgentAdminCommands(agent, config);
  addTaskCommands(program, config);
  addAccountShowCommands(user, client, config);

  const keys = program.command("keys").description("manage the token signing keys");
  keys
    .command("rotate")
    .description("add a signing key that signs from now on; older keys verify until their tokens expire")
    .action(async () => {
      const cfg = config();
      await withPlatform(cfg, async (p) => {
        await p.keys.ensureKey();
        const kid = await p.keys.rotate(cfg.accessTokenTtl * 1000);
        console.log(`new signing key ${kid}; older keys leave the JWKS in ${cfg.accessTokenTtl} s`);
      });
    });

  return program;
}

async function serve(config: Config, role: "all" | "core" | "facade"): Promise<void> {
  // One logger and one metrics registry for the process: in "all" both halves share them.
  const observability = createObservability(config);
  const log = observability.logger.child({ component: "serve" });
  const stops: Array<() => Promise<void>> = [];
  let stopping = false;
  const stopAll = async () => {
    for (const s of stops.reverse()) await s().catch((err: unknown) => log.error({ err }, "shutdown step failed"));
  };
  const onSignal = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "shutting down");
    void stopAll().then(() => process.exit(0));
  };
  // A crash is still a crash (exit 1), but its stack arrives as a log line.
  process.on("uncaughtException", (err) => {
    log.fatal({ err }, "uncaught exception");
    process.exit(1);
  });
  process.on("unhandledRejection", (reason) => {
    log.fatal({ err: reason }, "unhandled promise rejection");
    process.exit(1);
  });
  process.once("SIGINT", () => onSignal("SIGINT"));
  process.once("SIGTERM", () => onSignal("SIGTERM"));

  try {
    let inProcess: CoreClients | undefined;
    if (role !== "facade") {
      const core = await startCore(config, { observability });
      // One process: the facade calls the core's handlers in-process (same interceptors, no socket);
      // alone, it dials MESHAI_CORE_URL over h2c. The core's port serves every other caller either way.
      inProcess = createCoreClients(config, { transport: createInProcessTransport(core.handlerOptions) });
      stops.push(() => core.close());
      log.info({ url: core.url, dialect: core.platform.db.dialect }, "core listening");
      console.log(`MeshAI core (gRPC, gRPC-Web, Connect) on ${core.url}  [${core.platform.db.dialect}]`);
      const admin = core.bootstrap.createdAdmin;
      if (admin?.generatedPassword) {
        console.log(`Created administrator ${admin.email} with password ${admin.generatedPassword}`);
        console.log("This password is shown only once: change it with `meshai user passwd`.");
      } else if (admin) {
        console.log(`Created administrator ${admin.email} (password from MESHAI_ADMIN_PASSWORD)`);
      }
    }
    if (role !== "core") {
      const facade = await startFacade(config, inProcess, { observability });
      stops.push(() => facade.close());
      log.info({ url: facade.url, issuer: config.issuer }, "facade listening");
      console.log(`MeshAI HTTP facade on ${facade.url}`);
      console.log(`  issuer        ${config.issuer}`);
      console.log(`  MCP endpoint  ${config.mcpResource}`);
      console.log(`  health        ${facade.url}/healthz, ${facade.url}/readyz`);
    }
  } catch (e) {
    // Half a platform is worse than none: stop what did start, then report.
    stopping = true;
    await stopAll();
    throw e;
  }
  if (stopping) await stopAll().then(() => process.exit(0));
}

/** Runs the CLI; errors become one line on stderr and exit code 1 (2 for usage). */
export async function main(argv: string[] = process.argv): Promise<void> {
  try {
    await buildCli().parseAsync(argv);
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(`meshai: configuration error: ${e.message}`);
      process.exitCode = 2;
    } else if (e instanceof UsageError) {
      console.error(`meshai: ${e.message}`);
      process.exitCode = 2;
    } else {
      const msg = e instanceof Error ? (e as { rawMessage?: string }).rawMessage ?? e.message : String(e);
      console.error(`meshai: ${msg}`);
      process.exitCode = 1;
    }
  }
}

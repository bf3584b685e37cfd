import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { type Config, loadConfig } from "../../src/config.js";
import { issueServiceToken } from "../../src/core/auth/service.js";
import { type RunningCore, startCore } from "../../src/core/server.js";
import { type CoreClients, createCoreClients, createInProcessTransport } from "../../src/facade/core-client.js";

export interface TestCore {
  core: RunningCore;
  config: Config;
  /** A token for `email` (created as a user on first use) with these scopes. */
  token(scope: string, email?: string, opts?: { admin?: boolean; resource?: string; ttlSeconds?: number }): Promise<string>;
  close(): Promise<void>;
}

/** Environment for a throwaway platform: a temp data dir, loopback, ephemeral ports. */
export function testEnv(extra: Record<string, string> = {}): Record<string, string> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "meshai-test-"));
  return {
    MESHAI_DATA_DIR: dataDir,
    MESHAI_HOST: "127.0.0.1",
    MESHAI_HTTP_PORT: "0",
    MESHAI_GRPC_PORT: "0",
    MESHAI_ISSUER: "http://localhost:8080",
    MESHAI_ADMIN_EMAIL: "admin@example.com",
    MESHAI_ADMIN_PASSWORD: "admin-password-1",
    MESHAI_LOG_LEVEL: "silent",
    ...extra,
  };
}

/** Starts a real core on a loopback socket over a fresh SQLite file (or the given PostgreSQL database). */
export async function startTestCore(extra: Record<string, string> = {}): Promise<TestCore> {
  const env = testEnv(extra);
  const config = loadConfig(env);
  const core = await startCore(config);
  const { accounts, accessTokens } = core.platform;
  return {
    core,
    config,
    async token(scope, email = "admin@example.com", opts = {}) {
      if (!(await core.platform.users.byEmail(email))) {
        await accounts.create({ email, password: "user-password-1", admin: opts.admin ?? false });
      }
      const res = await issueServiceToken(
        { accounts, accessTokens, mcpResource: config.mcpResource, resources: config.resources, accessTokenTtl: config.accessTokenTtl },
        { email, scope, resource: opts.resource ?? "", ttlSeconds: opts.ttlSeconds ?? 0 },
      );
      return res.accessToken;
    },
    async close() {
      await core.close(500);
      fs.rmSync(env.MESHAI_DATA_DIR!, { recursive: true, force: true });
    },
  };
}

/**
 * The facade's way to this core in e2e suites: `undefined` (the facade dials
 * the core's port over h2c, as `--role facade` does) unless
 * MESHAI_TEST_CORE_LINK=in-process, which runs the suite over the in-process
 * transport of one-process mode (`meshai serve`). Suites that stop the core
 * under a running facade only make sense over the network.
 */
export function facadeCoreLink(t: TestCore): CoreClients | undefined {
  if (process.env.MESHAI_TEST_CORE_LINK !== "in-process") return undefined;
  return createCoreClients(t.config, { transport: createInProcessTransport(t.core.handlerOptions) });
}

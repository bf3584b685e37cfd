// `meshai user show` and `meshai client show`: the CLI side of the console's user and client pages,
// run as an operator runs them (a child process over the SQLite file a real core serves).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCore, type TestCore } from "./support/core.js";
import { cliEnv, type Env, runCli } from "./support/process.js";

let t: TestCore;
let env: Env;
let clientId: string;

beforeAll(async () => {
  t = await startTestCore();
  env = cliEnv({ MESHAI_DATA_DIR: t.config.dataDir, MESHAI_HTTP_PORT: "0", MESHAI_GRPC_PORT: "0" });
  await t.core.platform.accounts.create({ email: "ana@example.com", name: "Ana", password: "ana-password-1" });
  const { client } = await t.core.platform.oauth.registry.createByAdmin({
    client_name: "Ops dashboard",
    redirect_uris: ["https://ops.example.com/cb"],
    token_endpoint_auth_method: "none",
    grant_types: ["authorization_code", "refresh_token"],
  });
  clientId = client.clientId;
  const ana = (await t.core.platform.users.byEmail("ana@example.com"))!;
  await t.core.platform.oauth.grants.approve(ana.id, clientId, ["mcp:read"], [t.config.mcpResource]);
}, 60_000);
afterAll(() => t?.close());

describe("meshai user show prints what the console's user page shows, never the password hash", { timeout: 60_000 }, () => {
  it("text and --json, with the live grant count", async () => {
    const text = await runCli(["user", "show", "ana@example.com"], { env });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/email\s+ana@example.com/);
    expect(text.stdout).toMatch(/status\s+active\n/);
    expect(text.stdout).toMatch(/live grants\s+1/);
    const json = await runCli(["user", "show", "ana@example.com", "--json"], { env });
    const u = JSON.parse(json.stdout) as Record<string, unknown>;
    expect(u).toMatchObject({ email: "ana@example.com", name: "Ana", admin: false, disabled: false, liveGrants: 1 });
    expect(json.stdout).not.toContain("argon2");
    expect(u).not.toHaveProperty("passwordHash");
  });

  it("an unknown user exits non-zero naming the user", async () => {
    const res = await runCli(["user", "show", "nobody@example.com"], { env });
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain("nobody@example.com");
  });
});

describe("meshai client show prints what the console's client page shows, never the secret hash", { timeout: 60_000 }, () => {
  it("text and --json, with how it was registered and the live grant count", async () => {
    const text = await runCli(["client", "show", clientId], { env });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/registered by admin/);
    expect(text.stdout).toMatch(/redirect URIs https:\/\/ops.example.com\/cb/);
    expect(text.stdout).toMatch(/live grants\s+1/);
    const c = JSON.parse((await runCli(["client", "show", clientId, "--json"], { env })).stdout) as Record<string, unknown>;
    expect(c).toMatchObject({ clientId, name: "Ops dashboard", registration: "admin", liveGrants: 1 });
    expect(c).not.toHaveProperty("secretHash");
  });
});

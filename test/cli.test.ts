// The `meshai` command as an operator runs it: `node bin/meshai.js ...` in a
// child process, over a throwaway data dir, with loopback-only settings.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Env, freshEnv, jwtPart, query, removeDir, runCli, sqliteFile } from "./support/process.js";

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

/** A fresh data dir and ports for one describe. */
async function setup(extra: Record<string, string | undefined> = {}) {
  const fresh = await freshEnv(extra);
  dirs.push(fresh.dataDir);
  return fresh;
}

/** Every byte the SQLite database keeps on disk: the file and any -wal/-journal beside it. */
function databaseBytes(dataDir: string): Buffer {
  return Buffer.concat(
    fs
      .readdirSync(dataDir)
      .filter((n) => n.startsWith("meshai.sqlite"))
      .map((n) => fs.readFileSync(path.join(dataDir, n))),
  );
}

async function addUser(env: Env, email: string, password: string, ...flags: string[]) {
  return runCli(["user", "add", "--email", email, "--password-stdin", ...flags], { env, input: `${password}\n` });
}

describe("--help works on every command and subcommand, exits 0 and names the command's options", () => {
  // [command words, what its help must mention]
  const commands: Array<[string, string[]]> = [
    ["", ["Usage: meshai", "--help", "serve", "migrate", "user", "token", "keys", "client", "grant", "agent"]],
    ["serve", ["Usage: meshai serve", "--role", "all", "core", "facade"]],
    ["migrate", ["Usage: meshai migrate", "--help"]],
    ["user", ["Usage: meshai user", "add", "list", "disable", "enable", "passwd"]],
    ["user add", ["Usage: meshai user add", "--email", "--name", "--password", "--password-stdin", "--admin"]],
    ["user list", ["Usage: meshai user list", "--query", "--json"]],
    ["user disable", ["Usage: meshai user disable", "<user>", "--help"]],
    ["user enable", ["Usage: meshai user enable", "<user>", "--help"]],
    ["user passwd", ["Usage: meshai user passwd", "<user>", "--password", "--password-stdin"]],
    ["token", ["Usage: meshai token", "create"]],
    ["token create", ["Usage: meshai token create", "--user", "--scope", "--resource", "--ttl"]],
    ["keys", ["Usage: meshai keys", "rotate"]],
    ["keys rotate", ["Usage: meshai keys rotate", "--help"]],
    ["client", ["Usage: meshai client", "add", "list", "delete"]],
    ["grant", ["Usage: meshai grant", "list", "revoke"]],
    ["agent", ["Usage: meshai agent", "add", "list", "check", "remove"]],
  ];
  let env: Env;
  beforeAll(async () => {
    ({ env } = await setup());
  });

  it.concurrent.for(commands.map(([words, mentions]) => ({ cmd: ["meshai", words].filter(Boolean).join(" "), words, mentions })))(
    "$cmd --help",
    async ({ words, mentions }, { expect }) => {
    const res = await runCli([...words.split(" ").filter(Boolean), "--help"], { env });
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    for (const m of mentions) expect(res.stdout).toContain(m);
    },
  );
});

describe("migrate creates the SQLite file on an empty data dir, reports the schema up to date, and is safe to repeat", () => {
  it("creates the file and the schema, then runs again", async () => {
    const { env, dataDir } = await setup();
    expect(fs.readdirSync(dataDir)).toEqual([]);

    const first = await runCli(["migrate"], { env });
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^applied .*schema is up to date \(sqlite\)/);
    expect(fs.existsSync(sqliteFile(dataDir))).toBe(true);
    const tables = await query<{ name: string }>(sqliteFile(dataDir), "select name from sqlite_master where type = 'table'");
    expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(["users", "signing_keys"]));

    const second = await runCli(["migrate"], { env });
    expect(second.stderr).toBe("");
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/schema was already up to date \(sqlite\)/);
  });
});

describe("commands started together on a fresh data dir all bring the schema up (no migration race)", () => {
  it("four concurrent migrate commands all succeed, exactly one applies the migrations", async () => {
    const { env } = await setup();
    const runs = await Promise.all([1, 2, 3, 4].map(() => runCli(["migrate"], { env })));
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    expect(runs.filter((r) => r.stdout.startsWith("applied ")).length).toBe(1);
  });
});

describe("user add creates a user (password from stdin), refuses duplicates, short passwords and bad emails", () => {
  let env: Env;
  beforeAll(async () => {
    ({ env } = await setup());
  });

  it("creates a@example.com and user list shows it active", async () => {
    const add = await addUser(env, "a@example.com", "first-password-1");
    expect(add.stderr).toBe("");
    expect(add.code).toBe(0);
    expect(add.stdout).toMatch(/created user a@example\.com \(usr_/);

    const list = await runCli(["user", "list"], { env });
    expect(list.code).toBe(0);
    const line = list.stdout.split("\n").find((l) => l.startsWith("a@example.com\t"));
    expect(line).toBeDefined();
    expect(line!.split("\t")).toEqual(["a@example.com", expect.stringMatching(/^usr_/), "user", "active", ""]);

    const json = await runCli(["user", "list", "--json"], { env });
    expect(json.code).toBe(0);
    const rows = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
    expect(rows).toEqual([expect.objectContaining({ email: "a@example.com", admin: false, disabled: false })]);
    expect(json.stdout).not.toContain("passwordHash");
    expect(json.stdout).not.toContain("$argon2");
  });

  it("adding the same email again fails with exit code 1 saying it exists", async () => {
    const again = await addUser(env, "a@example.com", "another-password-1");
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/a@example\.com already exists/);
    expect(again.stdout).toBe("");
  });

  it("a password shorter than 8 characters is refused, naming password", async () => {
    const res = await addUser(env, "short@example.com", "seven77");
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/password.*at least 8/);
  });

  it("an invalid email is refused, naming email", async () => {
    const res = await addUser(env, "not-an-email", "long-enough-password");
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/email/);
  });

  it("none of the refused users was created", async () => {
    const json = await runCli(["user", "list", "--json"], { env });
    const emails = (JSON.parse(json.stdout) as Array<{ email: string }>).map((u) => u.email);
    expect(emails).toEqual(["a@example.com"]);
  });
});

describe("user disable/enable switch a user's state and user passwd stores a new argon2id hash, never the password", () => {
  let env: Env;
  let dataDir: string;
  const oldPassword = "original-password-XYZ";
  const newPassword = "replacement-password-QRS";

  beforeAll(async () => {
    ({ env, dataDir } = await setup());
    const add = await addUser(env, "b@example.com", oldPassword);
    expect(add.code, add.stderr).toBe(0);
  });

  const state = async () => {
    const list = await runCli(["user", "list"], { env });
    expect(list.code).toBe(0);
    return list.stdout.split("\n").find((l) => l.startsWith("b@example.com\t"))?.split("\t")[3];
  };

  it("disable, then list shows disabled; enable, then list shows active", async () => {
    const off = await runCli(["user", "disable", "b@example.com"], { env });
    expect(off.code, off.stderr).toBe(0);
    expect(off.stdout).toContain("b@example.com is disabled");
    expect(await state()).toBe("disabled");

    const on = await runCli(["user", "enable", "b@example.com"], { env });
    expect(on.code, on.stderr).toBe(0);
    expect(on.stdout).toContain("b@example.com is enabled");
    expect(await state()).toBe("active");
  });

  it("passwd changes the stored hash; hashes are argon2id and no plain password is in the file", async () => {
    const hash = async () =>
      (await query<{ password_hash: string }>(sqliteFile(dataDir), "select password_hash from users where email = ?", ["b@example.com"]))[0]!
        .password_hash;
    const before = await hash();
    expect(before.startsWith("$argon2id$")).toBe(true);

    const res = await runCli(["user", "passwd", "b@example.com", "--password-stdin"], { env, input: `${newPassword}\n` });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain("password changed");
    expect(res.stdout + res.stderr).not.toContain(newPassword);

    const after = await hash();
    expect(after.startsWith("$argon2id$")).toBe(true);
    expect(after).not.toBe(before);

    const bytes = databaseBytes(dataDir);
    expect(bytes.includes(Buffer.from(newPassword))).toBe(false);
    expect(bytes.includes(Buffer.from(oldPassword))).toBe(false);
  });

  it("passwd refuses a short password and an unknown user", async () => {
    const short = await runCli(["user", "passwd", "b@example.com", "--password-stdin"], { env, input: "short\n" });
    expect(short.code).not.toBe(0);
    expect(short.stderr).toMatch(/password/);
    const unknown = await runCli(["user", "passwd", "nobody@example.com", "--password-stdin"], { env, input: "long-enough-password\n" });
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/nobody@example\.com not found/);
  });
});

describe("token create prints one ES256 at+jwt for the user, audience the MCP resource unless --resource picks the issuer", () => {
  let env: Env;
  let httpPort: number;
  beforeAll(async () => {
    ({ env, httpPort } = await setup());
    const [user, admin] = await Promise.all([
      addUser(env, "reader@example.com", "reader-password-1"),
      addUser(env, "boss@example.com", "boss-password-1", "--admin"),
    ]);
    expect(user.code, user.stderr).toBe(0);
    expect(admin.code, admin.stderr).toBe(0);
  });

  function onlyToken(stdout: string): string {
    const lines = stdout.split("\n").filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    return lines[0]!;
  }

  it("issues a JWT with the at+jwt header and the default MCP audience", async () => {
    const res = await runCli(["token", "create", "--user", "reader@example.com", "--scope", "mcp:read"], { env });
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    const token = onlyToken(res.stdout);
    const header = jwtPart(token, 0);
    const payload = jwtPart(token, 1);
    const issuer = `http://localhost:${httpPort}`;
    expect(header).toMatchObject({ typ: "at+jwt", alg: "ES256" });
    expect(header.kid).toEqual(expect.any(String));
    expect(payload).toMatchObject({ iss: issuer, aud: `${issuer}/v1/mcp`, scope: "mcp:read", client_id: expect.any(String) });
    expect(payload.sub).toMatch(/^usr_/);
    expect(payload.jti).toEqual(expect.any(String));
    expect(payload.exp).toEqual(expect.any(Number));
    expect(payload.exp as number).toBeGreaterThan(payload.iat as number);
    // No personal data in the token.
    expect(JSON.stringify(payload)).not.toContain("reader@example.com");
  });

  it("--resource <issuer> makes the issuer the audience", async () => {
    const issuer = `http://localhost:${httpPort}`;
    const res = await runCli(["token", "create", "--user", "reader@example.com", "--resource", issuer], { env });
    expect(res.code, res.stderr).toBe(0);
    expect(jwtPart(onlyToken(res.stdout), 1)).toMatchObject({ aud: issuer, scope: "mcp:read" });
  });

  it("MESHAI_ISSUER sets the issuer and with it the default audience", async () => {
    const issuer = `http://localhost:${httpPort}/meshai`;
    const res = await runCli(["token", "create", "--user", "reader@example.com"], { env: { ...env, MESHAI_ISSUER: `${issuer}/` } });
    expect(res.code, res.stderr).toBe(0);
    expect(jwtPart(onlyToken(res.stdout), 1)).toMatchObject({ iss: issuer, aud: `${issuer}/v1/mcp` });
  });

  it("an admin may hold mcp:manage", async () => {
    const res = await runCli(["token", "create", "--user", "boss@example.com", "--scope", "mcp:read mcp:manage"], { env });
    expect(res.code, res.stderr).toBe(0);
    expect(jwtPart(onlyToken(res.stdout), 1)).toMatchObject({ scope: "mcp:read mcp:manage" });
  });

  it("refuses an unknown resource, mcp:manage for a non-admin, and an unknown user, printing no token", async () => {
    const [resource, manage, unknown] = await Promise.all([
      runCli(["token", "create", "--user", "reader@example.com", "--resource", `http://localhost:${httpPort}/elsewhere`], { env }),
      runCli(["token", "create", "--user", "reader@example.com", "--scope", "mcp:manage"], { env }),
      runCli(["token", "create", "--user", "ghost@example.com"], { env }),
    ]);
    expect(resource.code).toBe(1);
    expect(resource.stderr).toMatch(/resource: .*\/elsewhere is not a resource of this platform/);
    expect(manage.code).toBe(1);
    expect(manage.stderr).toMatch(/mcp:manage is for administrators only/);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/ghost@example\.com not found/);
    for (const r of [resource, manage, unknown]) expect(r.stdout).toBe("");
  });
});

describe("a bad environment value stops the command with a non-zero exit naming the variable and what it accepts", () => {
  const cases: Array<[string, string, string[], RegExp]> = [
    ["MESHAI_HTTP_PORT", "abc", ["migrate"], /MESHAI_HTTP_PORT.*accepts a TCP port number/],
    ["MESHAI_DATABASE_URL", "mysql://x", ["migrate"], /MESHAI_DATABASE_URL.*accepts an absolute URL \(postgres or postgresql\)/],
    ["MESHAI_GRPC_PORT", "70000", ["serve"], /MESHAI_GRPC_PORT.*accepts a TCP port number/],
  ];
  let env: Env;
  let dataDir: string;
  beforeAll(async () => {
    ({ env, dataDir } = await setup());
  });

  it.each(cases)("%s=%s stops `%s`", async (name, value, args, message) => {
    const res = await runCli(args, { env: { ...env, [name]: value } });
    expect(res.code).not.toBe(0);
    expect(res.code).not.toBeNull();
    expect(res.stderr).toMatch(message);
    expect(res.stdout).toBe("");
    // Stopped before touching the data dir.
    expect(fs.existsSync(sqliteFile(dataDir))).toBe(false);
  });
});

describe("keys rotate prints the new key id, which signs the tokens issued after it", () => {
  it("prints the kid and the next token carries it", async () => {
    const { env, dataDir } = await setup();
    expect((await addUser(env, "k@example.com", "keys-password-1")).code).toBe(0);
    const before = jwtPart((await runCli(["token", "create", "--user", "k@example.com"], { env })).stdout.trim(), 0).kid;

    const res = await runCli(["keys", "rotate"], { env });
    expect(res.code, res.stderr).toBe(0);
    const kid = /new signing key (\S+?);/.exec(res.stdout)?.[1];
    expect(kid).toBeTruthy();
    expect(kid).not.toBe(before);
    const kids = await query<{ kid: string }>(sqliteFile(dataDir), "select kid from signing_keys");
    expect(kids.map((k) => k.kid)).toEqual(expect.arrayContaining([kid, before]));

    const after = await runCli(["token", "create", "--user", "k@example.com"], { env });
    expect(after.code, after.stderr).toBe(0);
    expect(jwtPart(after.stdout.trim(), 0).kid).toBe(kid);
    // The signing key is a secret: rotation names it, never prints it.
    expect(res.stdout).not.toMatch(/"d"\s*:/);
  });
});

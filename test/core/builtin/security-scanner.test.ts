import { describe, expect, it } from "vitest";
import { createBuiltinAdapter } from "../../../src/core/agents/builtin/index.js";
import { type Finding, scanCode } from "../../../src/core/agents/builtin/security-scanner.js";
import type { AgentEvent } from "../../../src/core/agents/adapter.js";
import type { AgentRecord } from "../../../src/core/store/agents.js";

const fence = (lang: string, code: string) => `Analyze this code for security vulnerabilities:\n\n\`\`\`${lang}\n${code}\n\`\`\`\n`;
const lines = (fs: Finding[]) => fs.map((f) => [f.line, f.rule]);

describe("the scanner finds dangerous Python with exact line numbers", () => {
  const code = [
    "import os, pickle, hashlib, random, subprocess, yaml, requests", // 1
    "", // 2
    "def handler(request, cursor):", // 3
    "    name = request.args['name']", // 4
    "    cursor.execute(\"SELECT * FROM users WHERE name = '\" + name + \"'\")", // 5
    "    cursor.execute(f\"DELETE FROM sessions WHERE user = '{name}'\")", // 6
    "    cursor.execute(\"SELECT * FROM users WHERE name = %s\", (name,))", // 7 safe
    "    os.system('tar czf /tmp/out.tgz ' + request.args['dir'])", // 8
    "    subprocess.run(cmd, shell=True)", // 9
    "    result = eval(request.form['expr'])", // 10
    "    data = pickle.loads(request.data)", // 11
    "    conf = yaml.load(open('conf.yml'))", // 12
    "    safe = yaml.load(open('conf.yml'), Loader=yaml.SafeLoader)", // 13 safe
    "    digest = hashlib.md5(password.encode()).hexdigest()", // 14
    "    reset_token = ''.join(random.choice('abcdef0123456789') for _ in range(32))", // 15
    "    requests.get('https://internal.example', verify=False)", // 16
    "    app.run(debug=True)", // 17
  ].join("\n");
  const report = scanCode(fence("python", code), {});

  it("reports each vulnerable line once with rule, severity and a fix", () => {
    expect(lines(report.findings).sort((a, b) => Number(a[0]) - Number(b[0]))).toEqual([
      [5, "sql-injection"],
      [6, "sql-injection"],
      [8, "command-injection"],
      [9, "command-injection"],
      [10, "code-injection"],
      [11, "unsafe-deserialization"],
      [12, "unsafe-deserialization"],
      [14, "weak-hash"],
      [15, "insecure-randomness"],
      [16, "tls-verification-disabled"],
      [17, "debug-enabled"],
    ]);
    const eval10 = report.findings.find((f) => f.line === 10)!;
    expect(eval10).toMatchObject({ severity: "critical", cwe: "CWE-95", language: "python", snippet: "result = eval(request.form['expr'])" });
    expect(eval10.fix).toMatch(/ast\.literal_eval/);
    expect(report.findings.find((f) => f.line === 14)).toMatchObject({ severity: "high", detail: "used for a password or secret" });
    expect(report.findings.find((f) => f.line === 5)!.fix).toMatch(/%s", \(name,\)/);
  });

  it("orders findings by severity, critical first", () => {
    const order = { critical: 0, high: 1, medium: 2, low: 3 };
    const sev = report.findings.map((f) => order[f.severity]);
    expect(sev).toEqual([...sev].sort((a, b) => a - b));
  });
});

describe("the scanner covers JavaScript/TypeScript, Java, Go and PHP", () => {
  it("JavaScript: eval, child_process, template-literal SQL, Math.random tokens, TLS off, innerHTML", () => {
    const code = [
      "const { exec } = require('child_process');", // 1
      "app.get('/run', (req, res) => {", // 2
      "  exec(`ping -c 1 ${req.query.host}`);", // 3
      "  const fn = new Function('a', req.body.code);", // 4
      "  db.query(`SELECT * FROM orders WHERE id = ${req.params.id}`);", // 5
      "  db.query('SELECT * FROM orders WHERE id = $1', [req.params.id]);", // 6 safe
      "  const sessionToken = Math.random().toString(36).slice(2);", // 7
      "  https.request({ host, rejectUnauthorized: false });", // 8
      "  el.innerHTML = req.query.q;", // 9
      "  const value = eval(req.body.expr);", // 10
      "});", // 11
    ].join("\n");
    const r = scanCode(fence("js", code), {});
    expect(lines(r.findings).sort((a, b) => Number(a[0]) - Number(b[0]))).toEqual([
      [3, "command-injection"],
      [4, "code-injection"],
      [5, "sql-injection"],
      [7, "insecure-randomness"],
      [8, "tls-verification-disabled"],
      [9, "xss"],
      [10, "code-injection"],
    ]);
  });

  it("TypeScript: SQL by concatenation and a hard-coded key", () => {
    const code = [
      "export async function find(db: Db, email: string): Promise<User> {", // 1
      '  const sql = "SELECT id FROM users WHERE email = \'" + email + "\'";', // 2
      "  return db.get(sql);", // 3
      "}", // 4
      'const STRIPE_KEY = "sk_live_4eC39HqLyjWDarjtT1zdp7dc9aQ";', // 5
    ].join("\n");
    const r = scanCode(fence("ts", code), {});
    expect(lines(r.findings)).toEqual([[5, "hardcoded-secret"], [2, "sql-injection"]]);
    const secret = r.findings.find((f) => f.rule === "hardcoded-secret")!;
    expect(secret.severity).toBe("critical");
    expect(secret.snippet).not.toContain("4eC39HqLyjWDarjtT1zdp7dc9aQ");
  });

  it("Java: Statement SQL, Runtime.exec, MD5 passwords, ObjectInputStream, trust-all hostnames", () => {
    const code = [
      "public class UserDao {", // 1
      "  public User find(HttpServletRequest request) throws Exception {", // 2
      '    String id = request.getParameter("id");', // 3
      '    ResultSet rs = stmt.executeQuery("SELECT * FROM users WHERE id = " + id);', // 4
      '    Runtime.getRuntime().exec("sh -c ls " + request.getParameter("dir"));', // 5
      '    MessageDigest md = MessageDigest.getInstance("MD5"); // password hashing', // 6
      "    ObjectInputStream in = new ObjectInputStream(request.getInputStream());", // 7
      "    conn.setHostnameVerifier((host, session) -> true);", // 8
      '    PreparedStatement ps = conn.prepareStatement("SELECT * FROM users WHERE id = ?");', // 9 safe
      "    return null;", // 10
      "  }", // 11
      "}", // 12
    ].join("\n");
    const r = scanCode(fence("java", code), {});
    expect(lines(r.findings).sort((a, b) => Number(a[0]) - Number(b[0]))).toEqual([
      [4, "sql-injection"],
      [5, "command-injection"],
      [6, "weak-hash"],
      [7, "unsafe-deserialization"],
      [8, "tls-verification-disabled"],
    ]);
    expect(r.findings.find((f) => f.line === 6)!.severity).toBe("high");
  });

  it("Go: Sprintf SQL, sh -c, InsecureSkipVerify, math/rand secrets", () => {
    const code = [
      "package main", // 1
      "", // 2
      'import (\n\t"database/sql"\n\t"math/rand"\n)', // 3-6
      "", // 7
      "func handler(w http.ResponseWriter, r *http.Request) {", // 8
      '\tq := fmt.Sprintf("SELECT * FROM items WHERE name = \'%s\'", r.URL.Query().Get("name"))', // 9
      '\tout, _ := exec.Command("sh", "-c", "grep "+r.FormValue("pattern")).Output()', // 10
      "\ttr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}", // 11
      "\tapiKey := fmt.Sprint(rand.Int63())", // 12
      '\trows, _ := db.Query("SELECT * FROM items WHERE name = $1", name)', // 13 safe
      "}", // 14
    ].join("\n");
    const r = scanCode(fence("go", code), {});
    expect(lines(r.findings).sort((a, b) => Number(a[0]) - Number(b[0]))).toEqual([
      [9, "sql-injection"],
      [10, "command-injection"],
      [11, "tls-verification-disabled"],
      [12, "insecure-randomness"],
    ]);
  });

  it("PHP: interpolated SQL, shell_exec, unserialize, echo of request data, sha1 passwords", () => {
    const code = [
      "<?php", // 1
      '$id = $_GET["id"];', // 2
      '$result = mysqli_query($conn, "SELECT * FROM users WHERE id = $id");', // 3
      '$out = shell_exec("convert " . $_POST["file"] . " out.png");', // 4
      '$obj = unserialize($_COOKIE["prefs"]);', // 5
      'echo $_GET["name"];', // 6
      '$hash = sha1($password);', // 7
      '$stmt = $pdo->prepare("SELECT * FROM users WHERE id = ?");', // 8 safe
      'curl_setopt($ch, CURLOPT_SSL_VERIFYPEER, false);', // 9
    ].join("\n");
    const r = scanCode(fence("php", code), {});
    expect(lines(r.findings).sort((a, b) => Number(a[0]) - Number(b[0]))).toEqual([
      [3, "sql-injection"],
      [4, "command-injection"],
      [5, "unsafe-deserialization"],
      [6, "xss"],
      [7, "weak-hash"],
      [9, "tls-verification-disabled"],
    ]);
  });
});

describe("hard-coded secrets are found by format and by entropy, and redacted", () => {
  it("finds keys, passwords, private keys and URLs with passwords", () => {
    const code = [
      'AWS_ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"', // 1
      'db_password = "Tr0ub4dor&3"', // 2
      'SIGNING_SECRET = "9f8Kq2LmZx7Rt4Vb1Nc6Hd3Js5Pw0Ay"', // 3
      "-----BEGIN RSA PRIVATE KEY-----", // 4
      'DATABASE_URL = "postgres://app:s3cr3tPa55@db.internal:5432/app"', // 5
      'page_title = "Account settings for the admin"', // 6 not a secret
      'password = os.environ["DB_PASSWORD"]', // 7 not a literal
      'api_key = "<your-api-key>"', // 8 placeholder
    ].join("\n");
    const r = scanCode(fence("python", code), {});
    expect(lines(r.findings).sort((a, b) => Number(a[0]) - Number(b[0]))).toEqual([
      [1, "hardcoded-secret"],
      [2, "hardcoded-secret"],
      [3, "hardcoded-secret"],
      [4, "hardcoded-secret"],
      [5, "hardcoded-secret"],
    ]);
    for (const f of r.findings) {
      expect(f.snippet).not.toContain("Tr0ub4dor&3");
      expect(f.snippet).not.toContain("s3cr3tPa55");
      expect(f.snippet).not.toContain("9f8Kq2LmZx7Rt4Vb1Nc6Hd3Js5Pw0Ay");
    }
  });
});

describe("clean code gives no findings", () => {
  it.each([
    [
      "python",
      [
        "import os, secrets, subprocess",
        "from argon2 import PasswordHasher",
        "def create(cursor, name, password):",
        "    cursor.execute(\"INSERT INTO users (name, hash) VALUES (%s, %s)\", (name, PasswordHasher().hash(password)))",
        "    token = secrets.token_urlsafe(32)",
        "    subprocess.run([\"git\", \"status\"], check=True)",
        "    key = os.environ[\"API_KEY\"]",
        "    return token",
      ].join("\n"),
    ],
    [
      "javascript",
      [
        "import { randomBytes } from 'node:crypto';",
        "import { execFile } from 'node:child_process';",
        "export async function find(db, id) {",
        "  const token = randomBytes(32).toString('base64url');",
        "  const rows = await db.query('SELECT * FROM users WHERE id = $1', [id]);",
        "  const m = /^(\\d+)$/.exec(id);",
        "  el.textContent = rows[0].name;",
        "  execFile('git', ['status']);",
        "  return { rows, token, apiKey: process.env.API_KEY };",
        "}",
      ].join("\n"),
    ],
    [
      "go",
      [
        "package main",
        'import "crypto/rand"',
        "func find(db *sql.DB, id string) error {",
        '\t_, err := db.Query("SELECT * FROM users WHERE id = $1", id)',
        "\tbuf := make([]byte, 32)",
        "\trand.Read(buf)",
        '\treturn exec.Command("git", "status").Run()',
        "}",
      ].join("\n"),
    ],
  ])("%s", (lang, code) => {
    expect(scanCode(fence(lang, code), {}).findings).toEqual([]);
  });
});

describe("the scanner runs as a built-in agent", () => {
  const agent = { id: "builtin.security-scanner", config: { builtin: "security-scanner" } } as unknown as AgentRecord;
  const call = (task: string, context: Record<string, unknown> = {}, signal = new AbortController().signal) => ({
    taskId: "t1",
    task,
    capabilities: ["security_analysis"],
    context,
    timeoutMs: 10_000,
    signal,
  });

  it("reads code from context.code and ends with a result carrying the findings", async () => {
    const events: AgentEvent[] = [];
    const code = "import os\nuser = input()\nos.system('rm -rf ' + user)\n";
    for await (const e of createBuiltinAdapter().run(agent, call("scan this", { code, filename: "clean.py" }))) events.push(e);
    expect(events.map((e) => e.type)).toEqual(["progress", "progress", "output", "result"]);
    const result = events.at(-1) as Extract<AgentEvent, { type: "result" }>;
    expect(result.text).toContain("line 3");
    expect((result.data!.findings as Finding[])[0]).toMatchObject({ rule: "command-injection", line: 3, source: "clean.py", severity: "critical" });
  });

  it("stops when the call is aborted", async () => {
    const ctl = new AbortController();
    ctl.abort(new Error("cancelled by user"));
    const run = async () => {
      for await (const _ of createBuiltinAdapter().run(agent, call(fence("python", "eval(x)"), {}, ctl.signal))) void _;
    };
    await expect(run()).rejects.toThrow("cancelled by user");
  });
});

describe("path traversal and SSRF from request data are found", () => {
  it("in Python and JavaScript, following tainted variables", () => {
    const py = ["from flask import request, send_file", "def download():", "    name = request.args['file']", "    return send_file('/srv/files/' + name)", "def hook():", "    return requests.get(request.json['callback_url'])"].join("\n");
    expect(lines(scanCode(fence("python", py), {}).findings)).toEqual([[4, "path-traversal"], [6, "ssrf"]]);
    const js = ["app.get('/f', (req, res) => {", "  res.sendFile(req.query.path);", "  const target = req.body.url;", "  return fetch(target);", "});"].join("\n");
    expect(lines(scanCode(fence("js", js), {}).findings)).toEqual([[2, "path-traversal"], [4, "ssrf"]]);
  });

  it("not when the path is reduced to a base name", () => {
    const py = ["name = request.args['file']", "return send_file(os.path.join(BASE, secure_filename(name)))"].join("\n");
    expect(scanCode(fence("python", py), {}).findings).toEqual([]);
  });
});

describe("shell calls split over lines and programs chosen by the caller are found", () => {
  it("judges exec( by its arguments on the next line, and spawn by the program it runs", () => {
    const js = [
      "const { exec, spawn } = require('child_process');", // 1
      "router.post('/gzip', (req, res) => {", // 2
      "  exec(", // 3
      "    'gzip ' + req.query.file_path,", // 4
      "    () => res.send('done'));", // 5
      "  const cmd = req.params.cmd;", // 6
      "  spawn(cmd, []);", // 7
      "  spawn('git', ['status']);", // 8 safe
      "});", // 9
    ].join("\n");
    const r = scanCode(fence("js", js), {});
    expect(r.findings.map((f) => [f.line, f.rule, f.severity])).toEqual([
      [3, "command-injection", "critical"],
      [7, "command-injection", "critical"],
    ]);
  });
});

describe("a request without code is refused rather than reported clean", () => {
  it("fails with a message saying how to pass code", async () => {
    const agent = { id: "builtin.security-scanner", config: {} } as unknown as AgentRecord;
    const run = async () => {
      for await (const _ of createBuiltinAdapter().run(agent, { taskId: "t", task: "analyze this code for security vulnerabilities", capabilities: [], context: {}, timeoutMs: 1000, signal: new AbortController().signal })) void _;
    };
    await expect(run()).rejects.toThrow(/no code found/);
  });
});

describe("Ruby on Rails code is covered too", () => {
  it("finds interpolated SQL in ActiveRecord, shell interpolation, Marshal/YAML, MD5, rand tokens and VERIFY_NONE", () => {
    const rb = [
      "class UsersController < ApplicationController", // 1
      "  def show", // 2
      "    name = params[:name]", // 3
      "    User.where(\"name = '#{name}'\")", // 4
      "    output = `ls #{params[:dir]}`", // 5
      "    obj = Marshal.load(cookies[:prefs])", // 6
      "    cfg = YAML.load(params[:yaml])", // 7
      "    digest = Digest::MD5.hexdigest(password)", // 8
      "    reset_token = rand(10**8).to_s", // 9
      "    http.verify_mode = OpenSSL::SSL::VERIFY_NONE", // 10
      "    User.where(name: name)", // 11 safe
      "  end", // 12
      "end", // 13
    ].join("\n");
    const r = scanCode(fence("ruby", rb), {});
    expect(lines(r.findings).sort((a, b) => Number(a[0]) - Number(b[0]))).toEqual([
      [4, "sql-injection"],
      [5, "command-injection"],
      [6, "unsafe-deserialization"],
      [7, "unsafe-deserialization"],
      [8, "weak-hash"],
      [9, "insecure-randomness"],
      [10, "tls-verification-disabled"],
    ]);
    expect(r.findings.find((f) => f.line === 4)!.severity).toBe("critical");
  });

  it("finds raw SQL with interpolation in ORMs and query builders, not constant-only templates", () => {
    const js = ["await prisma.$queryRawUnsafe(`SELECT * FROM users WHERE email = '${req.body.email}'`);", "await knex.raw(`VACUUM ${TABLE_NAME}`);"].join("\n");
    expect(lines(scanCode(fence("ts", js), {}).findings)).toEqual([[1, "sql-injection"]]);
    const py = ["User.objects.raw(f\"SELECT * FROM app_user WHERE name = '{name}'\")", "User.objects.raw('SELECT * FROM app_user WHERE name = %s', [name])"].join("\n");
    expect(lines(scanCode(fence("python", py), {}).findings)).toEqual([[1, "sql-injection"]]);
  });
});

describe("C# code is covered too", () => {
  it("finds concatenated and interpolated SQL, Process.Start with input, MD5, Random tokens, trust-all TLS and BinaryFormatter", () => {
    const cs = [
      "using System;", // 1
      "public class UsersController : Controller {", // 2
      "  public IActionResult Find(string name) {", // 3
      "    var cmd = new SqlCommand(\"SELECT * FROM Users WHERE Name = '\" + name + \"'\", conn);", // 4
      "    var cmd2 = new SqlCommand($\"SELECT * FROM Users WHERE Name = '{name}'\", conn);", // 5
      "    Process.Start(\"cmd.exe\", \"/c ping \" + Request.Query[\"host\"]);", // 6
      "    var md5 = MD5.Create(); // password hash", // 7
      "    var token = new Random().Next().ToString();", // 8
      "    ServicePointManager.ServerCertificateValidationCallback = (s, c, ch, e) => true;", // 9
      "    var obj = new BinaryFormatter().Deserialize(stream);", // 10
      "    var ok = new SqlCommand(\"SELECT * FROM Users WHERE Name = @name\", conn);", // 11 safe
      "  }", // 12
      "}", // 13
    ].join("\n");
    const r = scanCode(fence("csharp", cs), {});
    expect(lines(r.findings).sort((a, b) => Number(a[0]) - Number(b[0]))).toEqual([
      [4, "sql-injection"],
      [5, "sql-injection"],
      [6, "command-injection"],
      [7, "weak-hash"],
      [8, "insecure-randomness"],
      [9, "tls-verification-disabled"],
      [10, "unsafe-deserialization"],
    ]);
  });
});

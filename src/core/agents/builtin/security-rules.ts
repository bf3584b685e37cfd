import type { Language } from "./code-input.js";

/**
 * The security scanner's rules: line patterns for the mistakes that turn up
 * in real breaches (code and command injection, SQL built from strings,
 * hard-coded secrets, weak hashes, predictable secrets, disabled TLS checks,
 * unsafe deserialisation, reflected XSS). Each rule carries its CWE and a fix
 * phrased for the language at hand.
 */

export type Severity = "critical" | "high" | "medium" | "low";

export interface LineContext {
  language: Language;
  lines: string[];
  /** 0-based index of the line being checked. */
  index: number;
  /** The whole source, for import checks. */
  source: string;
  /** Variables assigned from outside input earlier in the source (a light taint pass). */
  tainted?: Set<string>;
}

export interface RuleHit {
  severity?: Severity;
  /** Replaces the snippet (secrets are redacted). */
  snippet?: string;
  detail?: string;
}

export interface SecurityRule {
  id: string;
  title: string;
  severity: Severity;
  cwe: string;
  /** Run on comment lines too (secrets leak from comments as well). */
  includeComments?: boolean;
  check(line: string, ctx: LineContext): RuleHit | boolean;
  fix: Partial<Record<Language, string>> & { default: string };
}

/** Words that say a value comes from outside the program. */
const UNTRUSTED =
  /\b(request|req\.(body|query|params|headers|cookies)|params|query|input|raw_input|argv|stdin|user_?input|userinput|form|getParameter|getHeader|getQueryString|payload|body|cookies?|headers?)\b|\$_(GET|POST|REQUEST|COOKIE|SERVER|FILES)|process\.argv|sys\.argv|r\.URL|FormValue|c\.Query|c\.Param/i;

const untrusted = (line: string) => UNTRUSTED.test(line);

/** Where outside data certainly enters a program: request objects, argv, stdin. Seeds the taint pass. */
const INPUT_SOURCE =
  /\b(req|request|ctx\.request)\.(body|query|params|args|form|json|data|files|values|headers|cookies|get_json|getParameter|GET|POST|FILES|COOKIES)\b|\$_(GET|POST|REQUEST|COOKIE|FILES|SERVER)\b|\bgetParameter\s*\(|\bgetHeader\s*\(|\bgetQueryString\s*\(|\b(Post)?FormValue\s*\(|\bURL\.Query\(\)|\bc\.(Query|Param|PostForm)\s*\(|(?<![.\w])(params|cookies)\[|\b(sys|process)\.argv\b|\bos\.Args\b|(?<![.\w])input\s*\(|\braw_input\s*\(|\bgets\b|\breadLine\s*\(|Scanner\s*\(\s*System\.in/;

/** True when the text reads outside input directly or through a tainted variable (stricter than `reachesInput`). */
function fromRequest(text: string, ctx: LineContext): boolean {
  if (INPUT_SOURCE.test(text)) return true;
  for (const w of text.match(/\$?[A-Za-z_]\w*/g) ?? []) if (ctx.tainted?.has(w.replace(/^\$/, ""))) return true;
  return false;
}

/** True when the line reads outside input directly or through a tainted variable. */
function reachesInput(line: string, ctx: LineContext): boolean {
  if (untrusted(line)) return true;
  if (!ctx.tainted?.size) return false;
  for (const w of line.match(/\$?[A-Za-z_]\w*/g) ?? []) if (ctx.tainted.has(w.replace(/^\$/, ""))) return true;
  return false;
}

const ASSIGN_LINE = /^\s*(?:(?:const|let|var|final|String|string|int|Integer|auto|val)\s+)?\$?([A-Za-z_]\w*)\s*(?::=|=)(?!=)\s*(.+)$/;

/** Names assigned (directly or transitively) from request data, argv, stdin, ... */
export function taintedVariables(lines: string[]): Set<string> {
  const tainted = new Set<string>();
  for (const line of lines) {
    const m = ASSIGN_LINE.exec(line);
    if (!m) continue;
    const rhs = m[2]!;
    const fromInput = INPUT_SOURCE.test(rhs);
    const fromTainted = (rhs.match(/\$?[A-Za-z_]\w*/g) ?? []).some((w) => tainted.has(w.replace(/^\$/, "")));
    if (fromInput || fromTainted) tainted.add(m[1]!);
  }
  return tainted;
}

/** The argument list opens with a plain string literal and nothing else. */
const LITERAL_ARG = /^\s*(["'])(?:(?!\1)[^\\$]|\\.)*\1\s*\)/;
function argsAfter(line: string, callEnd: number): string {
  return line.slice(callEnd);
}

function escalate(line: string, ctx: LineContext, base: Severity): RuleHit {
  return { severity: reachesInput(line, ctx) ? "critical" : base };
}

const SECRET_NAME = /(password|passwd|passphrase|pwd|secret|api[_-]?key|apikey|access[_-]?key|secret[_-]?key|private[_-]?key|auth[_-]?token|access[_-]?token|refresh[_-]?token|client[_-]?secret|token|credentials?)$/i;
const PASSWORD_NAME = /(password|passwd|passphrase|pwd)$/i;
const PLACEHOLDER = /^(\*+|x+|\.+|-+|changeme\.?|your[_\s-].*|<[^>]*>|\$\{[^}]*\}|\{\{[^}]*\}\}|%\([^)]*\)s|%s|example|sample|dummy|placeholder|none|null|nil|undefined|todo|tbd|redacted|secret|password|token|api[_-]?key|env\(.*\)|process\.env.*|os\.environ.*)$/i;

/** Shannon entropy in bits per character: random keys score high, words low. */
export function entropy(s: string): number {
  const counts = new Map<string, number>();
  for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let h = 0;
  for (const n of counts.values()) {
    const p = n / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}

export function redact(line: string, secret: string): string {
  const shown = secret.length > 8 ? secret.slice(0, 4) : "";
  return line.replace(secret, `${shown}${"*".repeat(8)}`).trim();
}

/** Well-known credential formats, found anywhere on a line. */
const KNOWN_SECRETS: Array<{ name: string; re: RegExp }> = [
  { name: "private key", re: /-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----/ },
  { name: "AWS access key id", re: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/ },
  { name: "GitHub token", re: /\bgh[pousr]_[A-Za-z0-9]{36,}\b|\bgithub_pat_[A-Za-z0-9_]{40,}\b/ },
  { name: "Slack token", re: /\bxox[abprs]-[A-Za-z0-9-]{10,}\b/ },
  { name: "Stripe secret key", re: /\b[sr]k_live_[0-9A-Za-z]{20,}\b/ },
  { name: "Google API key", re: /\bAIza[0-9A-Za-z_-]{35}\b/ },
  { name: "OpenAI API key", re: /\bsk-(?:proj-|live-)?[A-Za-z0-9_-]{20,}\b/ },
  { name: "JSON Web Token", re: /\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\b/ },
];

/** `name = "value"` in the syntax of any of the languages. */
const ASSIGNMENT = /(?:^|[\s{(,;])\$?["']?([A-Za-z_][\w.-]*?)["']?\s*(?::=|=(?![=>])|:(?!:)|=>)\s*(?:[A-Za-z_]+\()?\s*(["'`])((?:(?!\2)[^\\]|\\.){4,})\2/g;

function secretCheck(line: string): RuleHit | false {
  for (const k of KNOWN_SECRETS) {
    const m = k.re.exec(line);
    if (m) return { severity: "critical", detail: `${k.name} in source`, snippet: redact(line, m[0]) };
  }
  const conn = /\b[a-z][a-z0-9+.-]*:\/\/[^\s:@/'"]+:([^\s@/'"]{3,})@/i.exec(line);
  if (conn && !PLACEHOLDER.test(conn[1]!) && !/^\$|^%|^\{/.test(conn[1]!)) {
    return { severity: "high", detail: "password inside a connection URL", snippet: redact(line, conn[1]!) };
  }
  const cmp = /\b\w*(password|passwd|pwd|secret|token|api_?key)\s*(?:===?|!==?|\.equals\()\s*(["'])([^"']{4,})\2/i.exec(line);
  if (cmp && !PLACEHOLDER.test(cmp[3]!) && !/typeof\s+\S+\s*$/.test(line.slice(0, cmp.index + cmp[0].indexOf(cmp[1]!))) && !/^(string|number|boolean|object|undefined|function|bigint|symbol)$/.test(cmp[3]!)) return { severity: "high", detail: "credential compared with a literal", snippet: redact(line, cmp[3]!) };
  for (const m of line.matchAll(ASSIGNMENT)) {
    const name = m[1]!.split(".").pop()!;
    const value = m[3]!;
    if (!SECRET_NAME.test(name) || PLACEHOLDER.test(value.trim()) || /\$\{|\{\{|%\(|#\{/.test(value)) continue;
    // setPassword / resetToken / verifySecret: the name of an operation (a route, a scope), not a secret.
    if (/^(set|get|reset|update|change|verify|check|validate|hash|is|has|on|handle|show|confirm|forgot|send|revoke|rotate|refresh)[A-Z_-]/.test(name)) continue;
    if (/^[A-Z_]+$/.test(value) || /^[a-z]+(_[a-z]+)*$/.test(value) && value.length < 12 && !PASSWORD_NAME.test(name)) continue;
    if (PASSWORD_NAME.test(name)) {
      if (value.length >= 6 && !/^[a-z_]+$/.test(value.toLowerCase()) || value.length >= 8) {
        return { severity: "high", detail: `password literal assigned to ${name}`, snippet: redact(line, value) };
      }
      continue;
    }
    // Keys and tokens: long and random-looking, so that labels and names are not reported.
    if (value.length >= 16 && entropy(value) >= 3.2 && !/\s/.test(value)) {
      return { severity: "high", detail: `high-entropy literal assigned to ${name} (${entropy(value).toFixed(1)} bits/char)`, snippet: redact(line, value) };
    }
  }
  return false;
}

const SQL_IN_STRING = /["'`][^"'`]*\b(select\b[^"'`]*\bfrom\b|insert\s+into\b|update\s+\w+\s+set\b|delete\s+from\b|drop\s+table\b|(where|and|or)\s+\w+\s*(=|like|in)\s*['"(]?$|(where|and|or)\s+\w+\s*(=|like)\s*['"]?\s*["'`])/i;
const SQL_KEYWORD = /\b(select\s+[\w*,\s.()]+\s+from|insert\s+into|update\s+\w+\s+set|delete\s+from|drop\s+table|where\s+\w+\s*(=|like|in\b))/i;

/** ORM calls that take raw SQL: an interpolated string there is as bad as a hand-built query. */
const RAW_SQL_CALL: Partial<Record<Language, RegExp>> = {
  ruby: /\.(where|find_by_sql|order|group|having|joins|select|pluck|from|lock|execute|exec_query|select_all|select_rows|select_value)\s*\(?\s*"[^"]*#\{/,
  python: /\.(raw|extra|execute|executescript|text)\s*\(\s*(f["'][^"']*\{|["'][^"']*["']\s*(%|\.format\s*\())|\btext\s*\(\s*f["'][^"']*\{/,
  javascript: /\.(raw|query|whereRaw|orderByRaw|havingRaw|joinRaw|\$queryRawUnsafe|\$executeRawUnsafe)\s*\(\s*`[^`]*\$\{/,
};

function sqlInjectionCheck(line: string, ctx: LineContext): RuleHit | false {
  const raw = RAW_SQL_CALL[ctx.language]?.exec(line);
  if (raw) {
    const holes = [...line.slice(raw.index).matchAll(/[$#]\{([^}]+)\}/g)].map((m) => m[1]!.trim());
    if (!(holes.length > 0 && holes.every((h) => /^[A-Z][A-Z0-9_]*$/.test(h)))) return escalate(line, ctx, "high");
  }
  if (!SQL_KEYWORD.test(line) || !SQL_IN_STRING.test(line) && !/\b(select|insert|update|delete)\b/i.test(line)) return false;
  const interpolated =
    /["'`]\s*\+\s*[\w$(]|[\w)\]]\s*\+\s*["'`]/.test(line) || // concatenation
    /\bf(["'])(?:(?!\1).)*\{[^}]+\}/.test(line) || // python f-string
    /["']\s*\.format\s*\(/.test(line) || // str.format
    /["']\s*%\s*[\w(]/.test(line) || // python % operator
    /`[^`]*\$\{[^}]+\}/.test(line) || // JS template literal
    (ctx.language === "php" && (/"[^"]*\$\w+/.test(line) || /["']\s*\.\s*\$\w|\$\w+(\[[^\]]*\])?\s*\.\s*["']/.test(line))) ||
    (ctx.language === "ruby" && /"[^"]*#\{/.test(line)) ||
    (ctx.language === "csharp" && /\$@?"[^"]*\{[^}]+\}/.test(line)) ||
    /\b(Sprintf|String\.format|string\.Format)\s*\([^)]*%[sdv]|\b(Sprintf|String\.format)\s*\(\s*"[^"]*\{/.test(line) ||
    /\+=\s*["'`][^"'`]*\b(where|and|or|values|set)\b/i.test(line) && /\+\s*\w/.test(line);
  if (!interpolated) return false;
  // `FROM cache_v${VERSION}`: only constants are spliced in, nothing a caller controls.
  const holes = [...line.matchAll(/\$\{([^}]+)\}/g)].map((m) => m[1]!.trim());
  const onlyTemplates = !/["'`]\s*\+|\+\s*["'`]|\bf["']|\.format\s*\(|["']\s*%\s*[\w(]|Sprintf|String\.format/.test(line);
  if (onlyTemplates && holes.length > 0 && holes.every((h) => /^[A-Z][A-Z0-9_]*$/.test(h))) return false;
  return escalate(line, ctx, "high");
}

const callAt = (re: RegExp) => (line: string) => re.test(line);

export const SECURITY_RULES: SecurityRule[] = [
  {
    id: "code-injection",
    title: "Dynamic code evaluation",
    severity: "high",
    cwe: "CWE-95",
    check(line, ctx) {
      const patterns: Partial<Record<Language, RegExp>> = {
        python: /(?<![.\w])(eval|exec|compile)\s*\(/,
        javascript: /(?<![.\w])eval\s*\(|\bnew\s+Function\s*\(|\b(setTimeout|setInterval)\s*\(\s*["'`]|\bvm\.(runInNewContext|runInThisContext|runInContext|compileFunction)\s*\(|\bnew\s+vm\.Script\s*\(/,
        php: /(?<![\w>$])(eval|assert|create_function)\s*\(|preg_replace\s*\(\s*["'](.).*\2[a-z]*e[a-z]*["']/,
        java: /\.eval\s*\(|ScriptEngineManager|GroovyShell\(\)\.evaluate/,
        ruby: /(?<![.\w])(eval|instance_eval|class_eval)\s*[( ]/,
        unknown: /(?<![.\w])eval\s*\(/,
      };
      const re = patterns[ctx.language];
      if (!re) return false;
      const m = re.exec(line);
      if (!m) return false;
      if (ctx.language === "java" && /ScriptEngineManager/.test(line) && !/\.eval\s*\(/.test(line)) return false;
      // eval("2 + 2") with a fixed literal is not injectable.
      const after = argsAfter(line, m.index + m[0].length);
      if (/eval|exec|compile|assert/.test(m[0]) && LITERAL_ARG.test(after)) return false;
      return escalate(line, ctx, "high");
    },
    fix: {
      python: "Never eval/exec text you did not write: parse data with json.loads or ast.literal_eval, and dispatch operations through an explicit dict of allowed functions.",
      javascript: "Remove eval/new Function/string timers: parse data with JSON.parse, pass a function (not a string) to setTimeout, and look operations up in an allow-listed map.",
      php: "Remove eval/assert on strings: use json_decode for data and a match/switch over allowed operations; use preg_replace_callback instead of the /e modifier.",
      java: "Do not feed request data to a ScriptEngine: implement the few allowed operations in Java or use a sandboxed expression language with a strict allow-list.",
      default: "Do not evaluate strings as code; parse data with a data parser and map inputs to an allow-list of operations.",
    },
  },
  {
    id: "command-injection",
    title: "Shell command built from variables",
    severity: "high",
    cwe: "CWE-78",
    check(line, ctx) {
      switch (ctx.language) {
        case "python": {
          if (/shell\s*=\s*True/.test(line)) return escalate(line, ctx, "high");
          const m = /\b(os\.system|os\.popen|os\.spawn\w*|commands\.getoutput|commands\.getstatusoutput|subprocess\.getoutput|subprocess\.getstatusoutput)\s*\(/.exec(line);
          if (!m) return false;
          return LITERAL_ARG.test(argsAfter(line, m.index + m[0].length)) ? { severity: "medium", detail: "shell invocation (fixed command)" } : escalate(line, ctx, "high");
        }
        case "javascript": {
          if (!/child_process|\bexecSync\b|\bexec\s*\(/.test(ctx.source) || !/child_process/.test(ctx.source)) return false;
          if (/\bshell\s*:\s*true/.test(line)) return escalate(line, ctx, "high");
          // spawn/execFile run the program they are given: a program name from the request is a command of the caller's choosing.
          const prog = /(?:^|[^.\w]|\b(?:child_process|cp|childProcess|proc)\.)(spawn|spawnSync|execFile|execFileSync)\s*\(\s*([^,)]+)/.exec(line);
          if (prog && !/^\s*["'`]/.test(prog[2]!) && fromRequest(prog[2]!, ctx)) return escalate(line, ctx, "high");
          const m = /(?:^|[^.\w]|\b(?:child_process|cp|childProcess|proc)\.)(exec|execSync)\s*\(/.exec(line);
          if (!m) return false;
          // A call whose arguments start on the next line is judged by that line.
          let args = argsAfter(line, m.index + m[0].length);
          if (!args.trim()) args = ctx.lines[ctx.index + 1] ?? "";
          return LITERAL_ARG.test(args) || /^\s*(["'])[^"'$]*\1\s*,/.test(args) ? false : escalate(`${line} ${args}`, ctx, "high");
        }
        case "java": {
          const m = /Runtime\.getRuntime\(\)\.exec\s*\(|new\s+ProcessBuilder\s*\(/.exec(line);
          if (!m) return false;
          const after = argsAfter(line, m.index + m[0].length);
          if (/"(sh|bash|cmd(\.exe)?|powershell)"\s*,\s*"(-c|\/c)"/i.test(after) || /\+/.test(after) || !/^\s*"/.test(after)) return escalate(line, ctx, "high");
          return false;
        }
        case "go": {
          const m = /exec\.Command(Context)?\s*\(/.exec(line);
          if (!m) return false;
          const after = argsAfter(line, m.index + m[0].length);
          if (/"(sh|bash|\/bin\/sh|\/bin\/bash|cmd(\.exe)?|powershell)"\s*,\s*"(-c|\/c|\/C)"/.test(after) && !/"\s*\)\s*$/.test(after.replace(/^[^,]*,[^,]*,\s*"[^"]*"/, ""))) return escalate(line, ctx, "high");
          return false;
        }
        case "php": {
          if (/`[^`]*\$\w+[^`]*`/.test(line)) return escalate(line, ctx, "high");
          const m = /(?<![\w>$:])(system|exec|shell_exec|passthru|popen|proc_open|pcntl_exec)\s*\(/.exec(line);
          if (!m) return false;
          return /\$/.test(argsAfter(line, m.index + m[0].length)) ? escalate(line, ctx, "high") : false;
        }
        case "csharp": {
          const m = /Process\.Start\s*\(|new\s+ProcessStartInfo\s*\(|\.(FileName|Arguments)\s*=/.exec(line);
          if (!m) return false;
          const args = argsAfter(line, m.index + m[0].length);
          return /"(cmd(\.exe)?|powershell(\.exe)?|\/bin\/(ba)?sh)"/i.test(args) && /\+|\$"/.test(line) || (/\+|\$"/.test(args) && fromRequest(args, ctx)) ? escalate(line, ctx, "high") : false;
        }
        case "ruby":
          return /(`[^`]*#\{[^`]*`|%x\{[^}]*#\{|\b(system|exec|spawn)\s*\(?\s*"[^"]*#\{|IO\.popen\s*\(\s*"[^"]*#\{)/.test(line) ? escalate(line, ctx, "high") : false;
        default:
          return false;
      }
    },
    fix: {
      python: "Call subprocess.run([...args], shell=False, check=True) with the program and each argument as separate list items; never build a shell string (shlex.quote only as a last resort).",
      javascript: "Use child_process.execFile/spawn with an argument array and no shell (shell: false); validate inputs against an allow-list.",
      java: "Pass the program and each argument as separate strings to new ProcessBuilder(List.of(...)) without 'sh -c', and validate inputs against an allow-list.",
      go: "Call exec.Command(program, arg1, arg2) directly without 'sh -c', so arguments are never parsed by a shell.",
      php: "Avoid shell functions; when unavoidable use escapeshellarg() on every argument (or proc_open with an argument array on PHP 7.4+).",
      ruby: "Use system(program, arg1, arg2) or Open3.capture2 with separate arguments instead of a string with interpolation.",
      csharp: "Start the program directly with ProcessStartInfo.ArgumentList (one item per argument) and UseShellExecute = false, never through cmd.exe /c; allow-list inputs.",
      default: "Run programs with an argument vector and no shell; never interpolate input into a command string.",
    },
  },
  {
    id: "sql-injection",
    title: "SQL built by string concatenation or interpolation",
    severity: "high",
    cwe: "CWE-89",
    check: sqlInjectionCheck,
    fix: {
      python: 'Use a parameterised query: cursor.execute("SELECT ... WHERE name = %s", (name,)) (or ? with sqlite3); never format values into SQL.',
      javascript: "Use placeholders and pass values separately: db.query('SELECT ... WHERE id = $1', [id]) (or ? for MySQL), or a query builder.",
      java: 'Use a PreparedStatement: conn.prepareStatement("SELECT ... WHERE id = ?") then stmt.setString(1, id).',
      go: 'Pass values as arguments: db.Query("SELECT ... WHERE id = $1", id) (or ?), never fmt.Sprintf into SQL.',
      php: 'Use PDO prepared statements: $stmt = $pdo->prepare("SELECT ... WHERE id = ?"); $stmt->execute([$id]);',
      ruby: 'Use bound parameters: User.where("name = ?", name) or db.execute("... WHERE id = ?", [id]).',
      csharp: 'Use parameters: new SqlCommand("SELECT ... WHERE Name = @name", conn) with cmd.Parameters.AddWithValue("@name", name) (or EF Core\'s FromSqlInterpolated).',
      default: "Use parameterised queries (placeholders with values passed separately); never build SQL from strings.",
    },
  },
  {
    id: "hardcoded-secret",
    title: "Hard-coded secret",
    severity: "high",
    cwe: "CWE-798",
    includeComments: true,
    check: (line) => secretCheck(line),
    fix: {
      python: 'Read it at run time: os.environ["NAME"] or a secrets manager; remove it from the code and rotate the exposed value.',
      javascript: "Read it at run time from process.env.NAME or a secrets manager; remove it from the code and rotate the exposed value.",
      java: 'Load it from System.getenv("NAME") or a vault/KMS at run time; remove it from the code and rotate the exposed value.',
      go: 'Load it with os.Getenv("NAME") or a secrets manager; remove it from the code and rotate the exposed value.',
      php: "Load it with getenv('NAME') or a secrets manager; remove it from the code and rotate the exposed value.",
      default: "Move the secret to the environment or a secrets manager, remove it from the code and its history, and rotate it.",
    },
  },
  {
    id: "weak-hash",
    title: "Weak hash algorithm (MD5/SHA-1)",
    severity: "medium",
    cwe: "CWE-328",
    check(line, ctx) {
      const weak =
        /hashlib\.(md5|sha1)\s*\(|hashlib\.new\s*\(\s*["'](md5|sha1)["']|createHash\s*\(\s*["'`](md5|sha1)["'`]|MessageDigest\.getInstance\s*\(\s*"(MD5|SHA-?1)"|DigestUtils\.(md5|sha1)(Hex)?\s*\(|\b(md5|sha1)\.(New|Sum)\s*\(|Digest::(MD5|SHA1)|\b(MD5|SHA1)\.(Create|HashData)\s*\(|new\s+(MD5|SHA1)CryptoServiceProvider\s*\(|\bhash\s*\(\s*["'](md5|sha1)["']/i.test(line) ||
        (ctx.language === "php" && /(?<![\w>$:])(md5|sha1)\s*\(/.test(line));
      if (!weak || /usedforsecurity\s*=\s*False/.test(line)) return false;
      const near = ctx.lines.slice(Math.max(0, ctx.index - 2), ctx.index + 3).join("\n");
      return /pass(word|wd)?|pwd|credential|secret/i.test(near)
        ? { severity: "high", detail: "used for a password or secret" }
        : { severity: "medium" };
    },
    fix: {
      python: "For passwords use argon2-cffi (argon2.PasswordHasher) or bcrypt/hashlib.scrypt with a salt; for integrity use hashlib.sha256.",
      javascript: "For passwords use argon2 or bcrypt (or crypto.scrypt with a random salt); for integrity use crypto.createHash('sha256').",
      java: "For passwords use Argon2/BCrypt (e.g. Spring Security's Argon2PasswordEncoder); for integrity use MessageDigest.getInstance(\"SHA-256\").",
      go: "For passwords use golang.org/x/crypto/argon2 or bcrypt; for integrity use crypto/sha256.",
      php: "For passwords use password_hash($pw, PASSWORD_ARGON2ID) and password_verify(); for integrity use hash('sha256', ...).",
      csharp: "For passwords use ASP.NET Core Identity's PasswordHasher or Rfc2898DeriveBytes.Pbkdf2 with a random salt; for integrity use SHA256.HashData.",
      default: "Use a password hash (argon2id, bcrypt, scrypt) for passwords and SHA-256 or better for integrity.",
    },
  },
  {
    id: "insecure-randomness",
    title: "Predictable random numbers for a secret",
    severity: "high",
    cwe: "CWE-338",
    check(line, ctx) {
      const sensitive = /(token|secret|passw|salt|nonce|otp|api_?key|apikey|session|csrf|reset|verif|key$|^key|iv$|code$|pin$)/i;
      // The random value must land in a secret-sounding name: `token = ...`, `salt: ...`, `$sessionId = ...`.
      const target = /^\s*(?:(?:const|let|var|final|String|string|int|long|byte\[\]|val|auto)\s+)?\$?([\w.]+?)(?:\[[^\]]*\])?\s*(?::=|[+?]?=(?!=)|:(?!:))/.exec(line)?.[1]?.split(".").pop();
      if (!target || !sensitive.test(target)) return false;
      const patterns: Partial<Record<Language, RegExp>> = {
        javascript: /Math\.random\s*\(\)/,
        python: /(?<!secrets\.)(?<!SystemRandom\(\)\.)\brandom\.(random|randint|choice|choices|randrange|getrandbits|sample|uniform)\s*\(/,
        java: /new\s+Random\s*\(|Math\.random\s*\(\)|ThreadLocalRandom\.current\(\)/,
        go: /\brand\.(Int|Intn|Int31|Int63|Int63n|Uint32|Uint64|Float64|Read)\s*\(/,
        php: /(?<![\w>$:])(rand|mt_rand|uniqid|lcg_value|str_shuffle|array_rand)\s*\(/,
        ruby: /(?<![.\w])rand\s*\(|Random\.(rand|new)/,
        csharp: /new\s+Random\s*\(|Random\.Shared\./,
      };
      const re = patterns[ctx.language];
      if (!re || !re.test(line)) return false;
      if (ctx.language === "go" && !/"math\/rand"|math\/rand\/v2/.test(ctx.source)) return false;
      return true;
    },
    fix: {
      python: "Use the secrets module: secrets.token_urlsafe(32), secrets.token_hex(16) or secrets.choice().",
      javascript: "Use crypto.randomBytes(32).toString('base64url') or crypto.randomUUID() (crypto.getRandomValues in browsers).",
      java: "Use java.security.SecureRandom (new SecureRandom().nextBytes(buf)).",
      go: "Use crypto/rand (rand.Read(buf)) instead of math/rand.",
      php: "Use random_bytes(32) / bin2hex(random_bytes(16)) or random_int().",
      ruby: "Use SecureRandom.hex(32) or SecureRandom.urlsafe_base64.",
      csharp: "Use System.Security.Cryptography.RandomNumberGenerator.GetBytes(32) (or RandomNumberGenerator.GetInt32).",
      default: "Generate secrets with a cryptographically secure random generator.",
    },
  },
  {
    id: "tls-verification-disabled",
    title: "TLS certificate verification disabled",
    severity: "high",
    cwe: "CWE-295",
    check: callAt(
      /\bverify\s*=\s*False\b|ssl\._create_unverified_context|check_hostname\s*=\s*False|(verify_mode|cert_reqs)\s*=(?!=)\s*(ssl\.)?CERT_NONE|rejectUnauthorized\s*:\s*false|NODE_TLS_REJECT_UNAUTHORIZED["'\]]*\s*=\s*["']?0|InsecureSkipVerify\s*:\s*true|ALLOW_ALL_HOSTNAME_VERIFIER|NoopHostnameVerifier|setHostnameVerifier\s*\(.*->\s*true|TrustAllStrategy|CURLOPT_SSL_VERIFYPEER\s*,\s*(false|0)\b|CURLOPT_SSL_VERIFYHOST\s*,\s*(false|0)\b|["']verify_peer["']\s*=>\s*false|OpenSSL::SSL::VERIFY_NONE|ServerCertificate(Custom)?ValidationCallback\s*(=|\+=)\s*[^;]*=>\s*true|DangerousAcceptAnyServerCertificateValidator/i,
    ),
    fix: {
      python: "Keep verification on (the default); if the server uses a private CA pass verify='/path/to/ca.pem' (requests) or load it with ssl.create_default_context(cafile=...).",
      javascript: "Remove rejectUnauthorized: false / NODE_TLS_REJECT_UNAUTHORIZED=0; trust a private CA with the `ca` option or NODE_EXTRA_CA_CERTS.",
      go: "Remove InsecureSkipVerify; add the private CA to tls.Config.RootCAs (x509.NewCertPool + AppendCertsFromPEM).",
      java: "Use the default hostname verifier and trust store; import a private CA into a trust store instead of trusting all.",
      php: "Keep CURLOPT_SSL_VERIFYPEER true and CURLOPT_SSL_VERIFYHOST 2; set CURLOPT_CAINFO for a private CA.",
      csharp: "Remove the always-true certificate callback; trust a private CA by adding it to the machine store or validating the chain against it in the callback.",
      default: "Keep certificate and hostname verification on; trust private CAs explicitly instead.",
    },
  },
  {
    id: "unsafe-deserialization",
    title: "Deserialisation of untrusted data",
    severity: "high",
    cwe: "CWE-502",
    check(line, ctx) {
      const patterns: Partial<Record<Language, RegExp>> = {
        python: /\b(pickle|cPickle|_pickle|dill|marshal|shelve|jsonpickle)\.(loads?|open|decode|Unpickler)\s*\(|\byaml\.(unsafe_load|load_all|load)\s*\(|\btorch\.load\s*\((?![^)]*weights_only\s*=\s*True)/,
        java: /new\s+ObjectInputStream\s*\(|new\s+XMLDecoder\s*\(|\bXStream\(\)\.fromXML|enableDefaultTyping\(/,
        php: /(?<![\w>$:])unserialize\s*\(\s*(?!.*allowed_classes\s*=>\s*false)/,
        javascript: /\b(serialize|nodeSerialize)\.unserialize\s*\(|require\(\s*["']node-serialize["']\s*\)\.unserialize|\byaml\.load\s*\([^)]*(unsafe|DEFAULT_FULL_SCHEMA)/,
        csharp: /new\s+(BinaryFormatter|NetDataContractSerializer|SoapFormatter|LosFormatter|ObjectStateFormatter)\s*\(|TypeNameHandling\s*=\s*TypeNameHandling\.(All|Auto|Objects)/,
        ruby: /\bMarshal\.load\s*\(|\bYAML\.(load|unsafe_load)\s*\((?![^)]*permitted_classes)/,
      };
      const re = patterns[ctx.language];
      const m = re?.exec(line);
      if (!m) return false;
      if (/yaml\.(load|load_all)\s*\(/.test(m[0]) && /Loader\s*=\s*(yaml\.)?(C?SafeLoader)|\bsafe_load\b/.test(line)) return false;
      return escalate(line, ctx, "high");
    },
    fix: {
      python: "Use json for untrusted data; if YAML, yaml.safe_load(); never unpickle data from users or the network (sign it with hmac if you must).",
      java: "Do not use ObjectInputStream on untrusted input; use JSON with explicit DTOs, or an ObjectInputFilter allow-list (JEP 290).",
      php: "Use json_decode(); if unserialize is unavoidable pass ['allowed_classes' => false].",
      javascript: "Use JSON.parse for untrusted data; never node-serialize's unserialize.",
      ruby: "Use JSON.parse or YAML.safe_load; never Marshal.load untrusted bytes.",
      csharp: "Never use BinaryFormatter and friends on untrusted data; use System.Text.Json with concrete types (and no TypeNameHandling in Json.NET).",
      default: "Parse untrusted data with a data-only format (JSON) into explicit types.",
    },
  },
  {
    id: "xss",
    title: "Untrusted data written into HTML",
    severity: "medium",
    cwe: "CWE-79",
    check(line, ctx) {
      if (ctx.language === "php") return /\b(echo|print)\b[^;]*\$_(GET|POST|REQUEST|COOKIE)/.test(line) && !/htmlspecialchars|htmlentities|intval/.test(line) ? { severity: "high" } : false;
      if (ctx.language === "javascript") {
        const m = /\.(innerHTML|outerHTML)\s*\+?=\s*|document\.write(ln)?\s*\(|dangerouslySetInnerHTML\s*=\s*\{\s*\{\s*__html\s*:\s*/.exec(line);
        if (!m) return false;
        const rest = line.slice(m.index + m[0].length);
        if (/^\s*(["'])[^"'$]*\1\s*[;)]?\s*$/.test(rest) || /DOMPurify\.sanitize|escapeHtml|sanitize/.test(rest)) return false;
        return untrusted(line) || /location|hash|search|URLSearchParams/.test(line) ? { severity: "high" } : { severity: "medium" };
      }
      return false;
    },
    fix: {
      javascript: "Set textContent instead of innerHTML, or sanitise with DOMPurify.sanitize() before inserting HTML.",
      php: "Escape on output: echo htmlspecialchars($value, ENT_QUOTES, 'UTF-8');",
      default: "Escape data for HTML on output, or insert it as text rather than markup.",
    },
  },
  {
    id: "path-traversal",
    title: "File path taken from user input",
    severity: "high",
    cwe: "CWE-22",
    check(line, ctx) {
      const sinks: Partial<Record<Language, RegExp>> = {
        python: /\b(open|send_file|send_from_directory|os\.remove|os\.unlink|shutil\.rmtree)\s*\(|\bFileResponse\s*\(/,
        javascript: /\bfs(\.promises)?\.(readFile|readFileSync|createReadStream|writeFile|writeFileSync|unlink|unlinkSync|rm)\s*\(|\bres\.(sendFile|download)\s*\(/,
        java: /new\s+(File|FileInputStream|FileReader|FileOutputStream)\s*\(|Paths\.get\s*\(|Files\.(readAllBytes|newInputStream|delete)\s*\(/,
        go: /\bos\.(Open|ReadFile|Remove|RemoveAll|Create)\s*\(|\bhttp\.ServeFile\s*\(/,
        php: /\b(include|include_once|require|require_once)\b\s*\(?\s*\$|\b(file_get_contents|fopen|readfile|unlink|file)\s*\(\s*\$/,
      };
      const m = sinks[ctx.language]?.exec(line);
      if (!m) return false;
      const args = line.slice(m.index + m[0].length);
      if (/\b(basename|secure_filename|path\.basename|filepath\.Base|realpath)\b/.test(args)) return false;
      if (ctx.language === "php" && /\$_(GET|POST|REQUEST|COOKIE)/.test(args)) return { severity: "critical" };
      return fromRequest(args, ctx) ? { severity: "high" } : false;
    },
    fix: {
      python: "Resolve the path under a fixed base and check it stays there (Path(base, name).resolve().is_relative_to(base)), or use werkzeug's secure_filename / send_from_directory.",
      javascript: "Resolve against a fixed root and refuse paths outside it (path.resolve(root, name).startsWith(root + path.sep)); use res.sendFile(name, { root }).",
      java: "Normalize base.resolve(name).normalize() and check it startsWith(base); reject names containing '..' or separators.",
      go: "Use filepath.Clean and check the result stays under the base directory (or http.FS with a restricted fs.FS).",
      php: "Never include or open paths from the request; map allowed names to files with an allow-list and use basename().",
      default: "Map user input to files through an allow-list, or resolve and check the path stays under a fixed base directory.",
    },
  },
  {
    id: "ssrf",
    title: "Server-side request to a user-chosen URL",
    severity: "high",
    cwe: "CWE-918",
    check(line, ctx) {
      const sinks: Partial<Record<Language, RegExp>> = {
        python: /\b(requests|httpx|session)\.(get|post|put|delete|head|request)\s*\(|\burllib\.request\.urlopen\s*\(|\burlopen\s*\(/,
        javascript: /\b(fetch|axios(\.(get|post|put|delete|request))?|got|http\.get|https\.get|request)\s*\(/,
        java: /new\s+URL\s*\(|HttpRequest\.newBuilder\s*\(\s*URI\.create\s*\(|restTemplate\.(getForObject|getForEntity|exchange)\s*\(/,
        go: /\bhttp\.(Get|Post|Head)\s*\(|http\.NewRequest(WithContext)?\s*\(/,
        php: /\b(file_get_contents|curl_init|fopen)\s*\(\s*\$_(GET|POST|REQUEST)/,
      };
      const m = sinks[ctx.language]?.exec(line);
      if (!m) return false;
      if (ctx.language === "php") return true;
      const args = line.slice(m.index + m[0].length);
      // Only the URL argument itself: the first argument coming from the request.
      const first = args.split(/,(?![^(]*\))/)[0] ?? "";
      return fromRequest(first, ctx);
    },
    fix: {
      python: "Allow only known hosts: parse the URL, check scheme and host against an allow-list, resolve it and refuse private, loopback and link-local addresses before requesting.",
      javascript: "Check the URL against an allow-list of hosts and refuse private/loopback addresses after DNS resolution (e.g. with an agent that validates the resolved IP).",
      java: "Validate the URI against an allow-list of hosts and refuse internal addresses before connecting.",
      go: "Parse the URL, allow-list the host, and use a net.Dialer Control hook that refuses private and loopback IPs.",
      php: "Allow-list hosts and refuse internal addresses before fetching; never pass request data straight to curl or file_get_contents.",
      default: "Allow-list the hosts the server may call and refuse private, loopback and link-local addresses.",
    },
  },
  {
    id: "debug-enabled",
    title: "Debug mode enabled",
    severity: "medium",
    cwe: "CWE-489",
    check(line, ctx) {
      if (ctx.language !== "python") return false;
      return /\.run\s*\([^)]*debug\s*=\s*True/.test(line) || /^\s*DEBUG\s*=\s*True\b/.test(line);
    },
    fix: {
      python: "Turn debug off in production (app.run(debug=False), DEBUG = False) and read it from the environment; the Werkzeug debugger allows remote code execution.",
      default: "Turn debug mode off in production.",
    },
  },
];

/** True for a line that is only a comment in the given language. */
export function isComment(line: string, language: Language): boolean {
  const t = line.trim();
  if (t.startsWith("//") || t.startsWith("/*") || t.startsWith("*")) return language !== "python" && language !== "ruby";
  if (t.startsWith("#")) return language === "python" || language === "ruby" || language === "php" || language === "unknown";
  if (t.startsWith("--")) return false;
  return false;
}

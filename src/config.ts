import path from "node:path";
import { DEFAULT_METRICS_ALLOW, parseAllowList } from "./observability/allow-list.js";

/**
 * The whole environment contract as one typed object. Every process role
 * (core, facade, CLI) reads its settings from here and nowhere else, so a bad
 * value stops start-up with one clear message instead of failing later.
 */
export interface Config {
  /** Bind address for both listeners. */
  host: string;
  httpPort: number;
  grpcPort: number;
  /** The OAuth issuer, exactly as tokens and metadata carry it (no trailing slash). */
  issuer: string;
  /** `<issuer>/v1/mcp`: the MCP protected resource and default token audience. */
  mcpResource: string;
  /** Every audience the core accepts in an access token. */
  resources: string[];
  dataDir: string;
  /** `postgres://...` switches storage to PostgreSQL; empty means the SQLite file. */
  databaseUrl: string;
  /** Path of the SQLite file when databaseUrl is empty. */
  sqliteFile: string;
  /** Where the facade reaches the core. */
  coreUrl: string;
  adminEmail: string;
  adminPassword: string;
  /** Access token lifetime in seconds (the seed guide promises 60 minutes). */
  accessTokenTtl: number;
  /** Largest request body the facade accepts, in bytes. */
  bodyLimit: number;
  /**
   * Reverse proxies in front of the facade whose X-Forwarded-For entries are
   * trusted (0: none, use the socket address). The client address feeds the
   * per-address sign-in and registration throttles.
   */
  trustProxyHops: number;
  /** Allow outbound calls to private, loopback and link-local addresses (tests, local agents). */
  allowPrivateNetwork: boolean;
  /** Dynamically registered OAuth clients unused for this many days are deleted. */
  clientReapDays: number;
  /** MESHAI_LOG_LEVEL: the least severe level written as a JSON line on stdout. */
  logLevel: "silent" | "error" | "warn" | "info" | "debug";
  /** MESHAI_METRICS_ALLOW: the address ranges (CIDRs) that may read /metrics; others get 403. */
  metricsAllow: string[];
  /** Seconds between background agent health checks; 0 turns them off. */
  healthCheckIntervalSeconds: number;
  /** Default and largest per-task time limit, in seconds. */
  taskTimeoutSeconds: number;
  maxTaskTimeoutSeconds: number;
  /** Per-workflow limits: steps, steps running at once, and total run time in seconds. */
  workflowMaxSteps: number;
  workflowMaxFanOut: number;
  workflowTimeoutSeconds: number;
  /** An OpenAI-compatible LLM registered as an agent at start, when OPENAI_API_KEY or OPENAI_BASE_URL is set. */
  openai: { apiKey: string; baseUrl: string; model: string } | null;
}

/** A configuration problem: names the variable and what it accepts. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    readonly accepts: string,
    readonly value: string,
  ) {
    super(`${variable}=${JSON.stringify(value)} is not valid: ${variable} accepts ${accepts}`);
    this.name = "ConfigError";
  }
}

type Env = Record<string, string | undefined>;

function port(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 0 || n > 65535) {
    throw new ConfigError(name, "a TCP port number from 0 to 65535", raw);
  }
  return n;
}

function positiveInt(env: Env, name: string, fallback: number, what: string): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) <= 0) throw new ConfigError(name, what, raw);
  return Number(raw);
}

function nonNegativeInt(env: Env, name: string, fallback: number, what: string): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, what, raw);
  return Number(raw);
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(name, "true or false", raw);
}

function url(env: Env, name: string, fallback: string, schemes: string[]): string {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, `an absolute URL (${schemes.join(" or ")})`, raw);
  }
  if (!schemes.includes(parsed.protocol.replace(/:$/, ""))) {
    throw new ConfigError(name, `an absolute URL (${schemes.join(" or ")})`, raw);
  }
  return raw;
}

/** Reads and validates the environment. Throws ConfigError on the first bad value. */
export function loadConfig(env: Env = process.env): Config {
  const host = env.MESHAI_HOST || "127.0.0.1";
  const httpPort = port(env, "MESHAI_HTTP_PORT", 8080);
  const grpcPort = port(env, "MESHAI_GRPC_PORT", 50051);

  const issuerRaw = url(env, "MESHAI_ISSUER", `http://localhost:${httpPort}`, ["http", "https"]);
  const issuerUrl = new URL(issuerRaw);
  if (issuerUrl.search || issuerUrl.hash) {
    throw new ConfigError("MESHAI_ISSUER", "an http(s) URL without query or fragment", issuerRaw);
  }
  const issuer = issuerRaw.replace(/\/+$/, "");
  const mcpResource = `${issuer}/v1/mcp`;

  const dataDir = path.resolve(env.MESHAI_DATA_DIR || "./data");
  const databaseUrl = url(env, "MESHAI_DATABASE_URL", "", ["postgres", "postgresql"]);

  const grpcHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
  const coreUrl = url(
    env,
    "MESHAI_CORE_URL",
    `http://${grpcHost.includes(":") ? `[${grpcHost}]` : grpcHost}:${grpcPort}`,
    ["http", "https"],
  ).replace(/\/+$/, "");

  const adminEmail = env.MESHAI_ADMIN_EMAIL ?? "";
  const adminPassword = env.MESHAI_ADMIN_PASSWORD ?? "";
  if (adminEmail && !/^[^\s@]+@[^\s@]+$/.test(adminEmail)) {
    throw new ConfigError("MESHAI_ADMIN_EMAIL", "an email address", adminEmail);
  }
  if (adminPassword && adminPassword.length < 8) {
    throw new ConfigError("MESHAI_ADMIN_PASSWORD", "a password of at least 8 characters", "(hidden)");
  }
  if (Boolean(adminEmail) !== Boolean(adminPassword)) {
    const missing = adminEmail ? "MESHAI_ADMIN_PASSWORD" : "MESHAI_ADMIN_EMAIL";
    throw new ConfigError(missing, "a value whenever the other MESHAI_ADMIN_* variable is set", "");
  }

  const logLevel = (env.MESHAI_LOG_LEVEL || "info") as Config["logLevel"];
  if (!["silent", "error", "warn", "info", "debug"].includes(logLevel)) {
    throw new ConfigError("MESHAI_LOG_LEVEL", "silent, error, warn, info or debug", logLevel);
  }

  const metricsAllowRaw = env.MESHAI_METRICS_ALLOW ?? DEFAULT_METRICS_ALLOW;
  try {
    parseAllowList(metricsAllowRaw);
  } catch (e) {
    throw new ConfigError("MESHAI_METRICS_ALLOW", `comma-separated IP addresses or CIDR ranges (${(e as Error).message})`, metricsAllowRaw);
  }
  const metricsAllow = metricsAllowRaw.split(",").map((s) => s.trim()).filter(Boolean);

  return {
    host,
    httpPort,
    grpcPort,
    issuer,
    mcpResource,
    resources: [mcpResource, issuer],
    dataDir,
    databaseUrl,
    sqliteFile: path.join(dataDir, "meshai.sqlite"),
    coreUrl,
    adminEmail: adminEmail.toLowerCase(),
    adminPassword,
    accessTokenTtl: positiveInt(env, "MESHAI_ACCESS_TOKEN_TTL", 3600, "a whole number of seconds above 0"),
    bodyLimit: positiveInt(env, "MESHAI_BODY_LIMIT", 1024 * 1024, "a whole number of bytes above 0"),
    trustProxyHops: nonNegativeInt(env, "MESHAI_TRUST_PROXY", 0, "the number of reverse proxies in front of the facade (0: none)"),
    allowPrivateNetwork: bool(env, "MESHAI_ALLOW_PRIVATE_NETWORK", false),
    clientReapDays: positiveInt(env, "MESHAI_CLIENT_REAP_DAYS", 30, "a whole number of days above 0"),
    logLevel,
    metricsAllow,
    healthCheckIntervalSeconds: nonNegativeInt(env, "MESHAI_HEALTH_CHECK_INTERVAL", 60, "a whole number of seconds (0 turns checks off)"),
    taskTimeoutSeconds: positiveInt(env, "MESHAI_TASK_TIMEOUT", 300, "a whole number of seconds above 0"),
    maxTaskTimeoutSeconds: positiveInt(env, "MESHAI_MAX_TASK_TIMEOUT", 3600, "a whole number of seconds above 0"),
    workflowMaxSteps: positiveInt(env, "MESHAI_WORKFLOW_MAX_STEPS", 100, "a whole number of steps above 0"),
    workflowMaxFanOut: positiveInt(env, "MESHAI_WORKFLOW_MAX_FAN_OUT", 50, "a whole number of steps above 0"),
    workflowTimeoutSeconds: positiveInt(env, "MESHAI_WORKFLOW_TIMEOUT", 3600, "a whole number of seconds above 0"),
    openai:
      env.OPENAI_API_KEY || env.OPENAI_BASE_URL
        ? {
            apiKey: env.OPENAI_API_KEY ?? "",
            baseUrl: url(env, "OPENAI_BASE_URL", "https://api.openai.com/v1", ["http", "https"]).replace(/\/+$/, ""),
            model: env.OPENAI_MODEL || "gpt-4o-mini",
          }
        : null,
  };
}

import os from "node:os";
import { type DestinationStream, type Logger, pino } from "pino";
import type { Config } from "../config.js";
import { currentRequestId } from "./request-context.js";

export type { Logger };

/**
 * Field names whose values are secrets wherever they appear in a log object.
 * Code never logs such values on purpose (it logs ids and reasons instead);
 * this list is the safety net for the day someone does.
 */
export const SECRET_FIELDS = [
  "authorization",
  "cookie",
  "set-cookie",
  "password",
  "new_password",
  "token",
  "access_token",
  "refresh_token",
  "id_token",
  "session_token",
  "csrf_token",
  "code",
  "code_verifier",
  "client_secret",
  "client_assertion",
  "secret",
  "api_key",
  "bearer_token",
  "credentials",
] as const;

const key = (k: string) => (/^[A-Za-z_$][\w$]*$/.test(k) ? `.${k}` : `["${k}"]`);

/**
 * Objects a careless log call might pass whole. Redaction covers the secret
 * fields at the top level and inside these; pino's `*.` wildcards would cover
 * any parent but cost ~70 us per line (10x the line itself), so the parents
 * are named.
 */
const CONTAINERS = ["", "req.headers", "res.headers", "headers", "body", "query", "params", "form", "request", "response"];

/** pino redact paths: each secret field at the top level and in each container. */
export const REDACT_PATHS = CONTAINERS.flatMap((c) => SECRET_FIELDS.map((k) => (c ? `${c}${key(k)}` : key(k).replace(/^\./, ""))));

export interface LoggerOptions {
  level: Config["logLevel"];
  /** Where lines go; stdout by default (tests pass a stream to read them back). */
  destination?: DestinationStream;
}

/** Errors as `{type, message, stack}` only: no enumerable extras such as request metadata. */
function serializeError(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { message: String(err) };
  const out: Record<string, unknown> = { type: err.name, message: err.message, stack: err.stack };
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string" || typeof code === "number") out.code_name = code;
  return out;
}

/**
 * The process's logger: JSON lines (pino) with an ISO `time`, a level name,
 * the current request id when there is one, and secret fields redacted.
 * Make one per process and hand it down; halves add `component` with child().
 *
 * @example
 * const logger = createLogger({ level: config.logLevel });
 * logger.child({ component: "core" }).warn({ agent_id }, "agent call failed");
 */
export function createLogger(opts: LoggerOptions): Logger {
  return pino(
    {
      level: opts.level,
      base: { pid: process.pid, hostname: os.hostname() },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      messageKey: "msg",
      errorKey: "err",
      serializers: { err: serializeError },
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
      mixin() {
        const id = currentRequestId();
        return id === undefined ? {} : { request_id: id };
      },
    },
    opts.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}

/** A logger that writes nothing (CLI commands, unit tests). */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}

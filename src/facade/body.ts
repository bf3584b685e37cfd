import type { IncomingMessage } from "node:http";
import type { Context, Middleware } from "koa";
import { HttpError } from "./errors.js";

declare module "koa" {
  interface Request {
    /** Parsed JSON, a urlencoded form (`Record<string, string | string[]>`), or undefined. */
    body?: unknown;
    /** The bytes as received, for any content type; undefined when there was no body. */
    rawBody?: Buffer;
  }
}

/** A urlencoded form; a repeated name keeps every value so OAuth can reject it. */
export type FormBody = Record<string, string | string[]>;

function tooLarge(limit: number): HttpError {
  return new HttpError(413, "invalid_request", `request body exceeds ${limit} bytes`);
}

function hasBody(req: IncomingMessage): boolean {
  return req.headers["transfer-encoding"] !== undefined || Number(req.headers["content-length"] ?? 0) > 0;
}

/**
 * Reads the body, refusing on the declared length before reading a byte and
 * otherwise as soon as the count passes the limit. The rest of an oversized
 * body is drained, not kept, so the client still reads the 413.
 */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"]);
  if (declared > limit) {
    req.resume();
    return Promise.reject(tooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      req.off("data", onData);
      req.resume();
      settled = true;
      reject(tooLarge(limit));
    };
    req.on("data", onData);
    req.once("end", () => {
      settled = true;
      resolve(Buffer.concat(chunks));
    });
    // Every request ends with "close": build the error (a stack trace) only when it still matters.
    const cut = () => {
      if (!settled) reject(new HttpError(400, "invalid_request", "request body was not fully received"));
      settled = true;
    };
    req.once("error", cut);
    req.once("close", cut);
  });
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function decode(raw: Buffer): string {
  try {
    return utf8.decode(raw);
  } catch {
    throw new HttpError(400, "invalid_request", "request body is not valid UTF-8", -32700);
  }
}

function parseForm(text: string): FormBody {
  const form: FormBody = Object.create(null) as FormBody;
  for (const [name, value] of new URLSearchParams(text)) {
    const prev = form[name];
    form[name] = prev === undefined ? value : [...(Array.isArray(prev) ? prev : [prev]), value];
  }
  return form;
}

function parse(ctx: Context, raw: Buffer): unknown {
  if (ctx.is("json", "+json")) {
    try {
      return JSON.parse(decode(raw));
    } catch (err) {
      if (err instanceof HttpError) throw err;
      throw new HttpError(400, "invalid_request", "request body is not valid JSON", -32700);
    }
  }
  if (ctx.is("urlencoded")) return parseForm(decode(raw));
  return undefined;
}

/**
 * Reads every request body up front, before routing, so the size limit holds
 * for every path (known or not) and every content type; JSON and forms are
 * parsed into `ctx.request.body`. Compressed bodies are refused rather than
 * inflated past the limit.
 */
export function bodyParser(limit: number): Middleware {
  return async (ctx, next) => {
    if (hasBody(ctx.req)) {
      const encoding = ctx.get("content-encoding").toLowerCase();
      if (encoding !== "" && encoding !== "identity") {
        throw new HttpError(415, "invalid_request", "compressed request bodies are not supported");
      }
      const raw = await readBody(ctx.req, limit);
      ctx.request.rawBody = raw;
      ctx.request.body = parse(ctx, raw);
    }
    await next();
  };
}

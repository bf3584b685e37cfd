import type { OutboundFetch } from "../net/outbound.js";
import { readLimited } from "../net/outbound.js";
import type { AgentRecord } from "../store/agents.js";

/** What every HTTP adapter needs: the guarded fetches (all outbound calls go through src/core/net/outbound.ts). */
export interface AgentHttpDeps {
  /** For request/response calls: has a time limit. */
  fetch: OutboundFetch;
  /** For SSE streams: no time limit but the caller's signal. */
  streamingFetch: OutboundFetch;
}

/** Largest non-streamed agent answer we read. */
export const MAX_AGENT_RESPONSE = 8 * 1024 * 1024;

/**
 * Headers for a call to `agent`: its own stored credentials and nothing of
 * the caller's (the caller's MeshAI token never leaves MeshAI).
 */
export function agentHeaders(agent: AgentRecord, extra: Record<string, string> = {}): Record<string, string> {
  const h: Record<string, string> = { "user-agent": "MeshAI", ...extra };
  const c = agent.credentials;
  if (c?.headers) for (const [k, v] of Object.entries(c.headers)) h[k.toLowerCase()] = v;
  if (c?.bearerToken) h.authorization = `Bearer ${c.bearerToken}`;
  return h;
}

/** `base` + `path`, keeping any path prefix of the base (e.g. /v1). */
export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, "")}/${path.replace(/^\/+/, "")}`;
}

/** The task text an agent receives, with the caller's context appended when there is some. */
export function promptOf(task: string, context: Record<string, unknown>): string {
  const keys = Object.keys(context);
  if (keys.length === 0) return task;
  return `${task}\n\nContext:\n${JSON.stringify(context, null, 2)}`;
}

/** An agent's HTTP error as a clear message: status and the start of what it said (never our headers). */
export async function httpFailure(agent: AgentRecord, res: Response, what: string): Promise<Error> {
  let body = "";
  try {
    body = (await readLimited(res, 64 * 1024)).trim();
  } catch {
    /* too large or cut: the status says enough */
  }
  let detail = body;
  try {
    const parsed = JSON.parse(body) as { error?: { message?: string } | string; detail?: unknown; message?: string };
    detail = typeof parsed.error === "string" ? parsed.error : parsed.error?.message ?? parsed.message ?? (parsed.detail ? JSON.stringify(parsed.detail) : body);
  } catch {
    /* not JSON */
  }
  const hint = res.status === 401 || res.status === 403 ? " (check the agent's credentials)" : "";
  const err = new Error(`${what} answered HTTP ${res.status}${hint}${detail ? `: ${detail.slice(0, 300)}` : ""} [agent ${agent.id}]`);
  // A client error other than a timeout or rate limit will be refused again: no point retrying this agent.
  Object.assign(err, { permanent: res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429 });
  return err;
}

/** Reads a JSON answer, refusing one that is not JSON with a message naming the agent. */
export async function readJson(agent: AgentRecord, res: Response, what: string): Promise<unknown> {
  const text = await readLimited(res, MAX_AGENT_RESPONSE);
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`${what} answered something that is not JSON: ${JSON.stringify(text.slice(0, 120))} [agent ${agent.id}]`);
  }
}

/** Largest single SSE line or event we buffer; a stream that never ends its event is refused. */
const MAX_SSE_LINE = 4 * 1024 * 1024;

export interface SseMessage {
  event: string;
  data: string;
  id: string;
}

/** Parses a text/event-stream body (WHATWG rules: data lines joined by \n, a blank line ends an event). */
export async function* parseSse(body: ReadableStream<Uint8Array>): AsyncGenerator<SseMessage> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let event = "";
  let data: string[] = [];
  let id = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      let nl: number;
      while ((nl = buffer.search(/\r\n|\r|\n/)) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + (buffer.startsWith("\r\n", nl) ? 2 : 1));
        if (line === "") {
          // Unlike browsers, an event with a name but no data is kept: LangServe ends with a bare "event: end".
          if (data.length || event) yield { event: event || "message", data: data.join("\n"), id };
          event = "";
          data = [];
          continue;
        }
        if (line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        let val = colon < 0 ? "" : line.slice(colon + 1);
        if (val.startsWith(" ")) val = val.slice(1);
        if (field === "data") data.push(val);
        else if (field === "event") event = val;
        else if (field === "id") id = val;
      }
      if (done) {
        if (data.length) yield { event: event || "message", data: data.join("\n"), id };
        return;
      }
      if (buffer.length > MAX_SSE_LINE || data.reduce((n, d) => n + d.length, 0) > MAX_SSE_LINE) {
        throw new Error(`the event stream sent more than ${MAX_SSE_LINE} bytes without ending an event`);
      }
    }
  } finally {
    reader.cancel().catch(() => undefined);
  }
}

/** Text from whatever shape an agent's result takes: a string, {output|text|content|result}, or JSON. */
export function textOf(value: unknown): string {
  if (value == null) return "";
  if (typeof value === "string") return value;
  if (Array.isArray(value)) return value.map(textOf).join("");
  if (typeof value === "object") {
    const o = value as Record<string, unknown>;
    for (const k of ["output", "text", "content", "result", "answer"]) {
      if (k in o && (typeof o[k] === "string" || Array.isArray(o[k]))) return textOf(o[k]);
    }
  }
  return JSON.stringify(value);
}

/** A network-level failure (refused, reset, DNS) as a clear sentence. */
export function networkFailure(agent: AgentRecord, e: unknown, what: string): Error {
  const err = e as { message?: string; cause?: { code?: string; message?: string } };
  const code = err.cause?.code ? ` (${err.cause.code})` : "";
  const msg = err.cause?.message ?? err.message ?? String(e);
  return new Error(`could not reach ${what}${code}: ${msg} [agent ${agent.id}]`);
}

import { timestampMs } from "@bufbuild/protobuf/wkt";
import type { Router } from "@koa/router";
import type { Context } from "koa";
import type { TaskEvent } from "../../../gen/meshai/v1/mesh_pb.js";
import type { RouteDeps } from "../app.js";
import { HttpError } from "../errors.js";
import { eventTypeName, isTerminalState, taskStateName } from "../mcp/views.js";
import { type Html, html } from "../pages/html.js";
import { adminOf, type ConsoleKit } from "./kit.js";

/** A comment line this often keeps idle proxies from closing a quiet stream. */
const KEEPALIVE_MS = 15_000;

/** One task event as the console shows it and the SSE endpoint sends it. */
export interface EventView {
  seq: number;
  type: string;
  state: string;
  time: string;
  message: string;
  step_id: string;
  agent_id: string;
  output: string;
}

export function eventView(e: TaskEvent): EventView {
  return {
    seq: Number(e.seq),
    type: eventTypeName(e.type),
    state: taskStateName(e.state),
    time: e.time ? new Date(timestampMs(e.time)).toISOString() : "",
    message: e.message,
    step_id: e.stepId,
    agent_id: e.agentId,
    output: e.output,
  };
}

/** The server-rendered row of an event: the same cells the live script appends. */
export function eventRow(v: EventView): Html {
  const about = [v.step_id ? `step ${v.step_id}` : "", v.agent_id ? `agent ${v.agent_id}` : ""].filter(Boolean).join(" · ");
  return html`<tr data-seq="${v.seq}" data-type="${v.type}"><td>${v.seq}</td><td>${v.time.slice(11, 23)}</td><td>${v.type}</td><td>${v.state}</td><td>${about}</td><td class="wrap">${v.message}</td><td class="wrap pre">${v.type === "output" ? v.output : ""}</td></tr>`;
}

/** Where a stream resumes: the browser's Last-Event-ID after a drop, else `?after=` (the last event the page shows). */
function resumeAfter(ctx: Context): number {
  const raw = ctx.get("last-event-id") || (typeof ctx.query.after === "string" ? ctx.query.after : "") || "0";
  if (!/^\d{1,15}$/.test(raw)) throw new HttpError(400, "invalid_request", "Last-Event-ID (or after): must be an event sequence number");
  return Number(raw);
}

/**
 * The live parts' server side: the script file and a task's events as
 * Server-Sent Events. The SSE endpoint is WatchTask(after_seq) with the
 * admin's token, one `task` event per stored event (`id:` = seq, so the
 * browser resumes with Last-Event-ID), an `end` event once the task has
 * ended; the gRPC stream is cancelled when the browser goes away.
 */
export function liveRoutes(router: Router, { core }: RouteDeps, kit: ConsoleKit): void {

  router.get("/admin/tasks/:id/events", kit.requireAdmin, async (ctx) => {
    const id = String(ctx.params.id ?? "");
    const after = resumeAfter(ctx);
    const call = adminOf(ctx).call;
    // Unknown or invisible tasks are refused before the stream starts (a 404 page, not an empty stream).
    const { task } = await core.mesh.getTask({ id }, call);
    const stop = new AbortController();
    const res = ctx.res;
    ctx.respond = false;
    res.on("close", () => stop.abort());
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
    res.write("retry: 2000\n\n");
    const keepalive = setInterval(() => res.write(": keep-alive\n\n"), KEEPALIVE_MS);
    let ended = task !== undefined && isTerminalState(task.state) && after >= Number(task.lastSeq);
    try {
      if (!ended) {
        for await (const r of core.mesh.watchTask({ id, afterSeq: BigInt(after) }, { ...call, signal: stop.signal })) {
          if (!r.event) continue;
          const v = eventView(r.event);
          res.write(`id: ${v.seq}\nevent: task\ndata: ${JSON.stringify(v)}\n\n`);
          if (isTerminalState(r.event.state) && ["completed", "failed", "cancelled"].includes(v.type)) {
            ended = true;
            break;
          }
        }
        // WatchTask ends on its own only once the task has ended.
        ended = ended || !stop.signal.aborted;
      }
    } catch {
      // The browser left (aborted) or the core went away: without an `end` event the browser reconnects and resumes.
      ended = false;
    } finally {
      clearInterval(keepalive);
      if (ended && !res.destroyed) res.write("event: end\ndata: {}\n\n");
      stop.abort();
      res.end();
    }
  });
}

import { randomBytes } from "node:crypto";
import type { CreateTaskOptions, TaskStore } from "@modelcontextprotocol/sdk/experimental/tasks/interfaces.js";
import type { Request, RequestId, Result, Task } from "@modelcontextprotocol/sdk/types.js";

interface Entry {
  subject: string;
  task: Task;
  result?: Result;
  /** Stops the work behind the task (the gRPC stream, the mesh task). */
  cancel?: () => void;
  timer?: NodeJS.Timeout;
}

const TERMINAL = new Set<Task["status"]>(["completed", "failed", "cancelled"]);

export interface McpTaskStoreOptions {
  /** Longest time a task and its result are kept (ms); a client's ttl may only shorten it. */
  maxTtlMs?: number;
  /** Tasks kept per user; past it the oldest finished ones are forgotten first. */
  maxPerSubject?: number;
  pollIntervalMs?: number;
}

/**
 * MCP tasks (the experimental `tasks` capability) for the task-capable tools,
 * held by the facade and bound to the caller's subject, not to one session:
 * ChatGPT re-initializes often and must still find its task, while another
 * user never can (lookups by someone else answer "not found").
 */
export class McpTaskStore {
  private readonly entries = new Map<string, Entry>();
  private readonly maxTtlMs: number;
  private readonly maxPerSubject: number;
  private readonly pollIntervalMs: number;

  constructor(opts: McpTaskStoreOptions = {}) {
    this.maxTtlMs = opts.maxTtlMs ?? 60 * 60 * 1000;
    this.maxPerSubject = opts.maxPerSubject ?? 100;
    this.pollIntervalMs = opts.pollIntervalMs ?? 1000;
  }

  /** The SDK-facing store for one subject; the SDK's session id is ignored in favour of the subject. */
  viewFor(subject: string): TaskStore {
    const own = (taskId: string): Entry | undefined => {
      const e = this.entries.get(taskId);
      return e && e.subject === subject ? e : undefined;
    };
    const mustOwn = (taskId: string): Entry => {
      const e = own(taskId);
      if (!e) throw new Error(`task ${taskId} not found`);
      return e;
    };
    return {
      createTask: async (params: CreateTaskOptions, _requestId: RequestId, _request: Request) => {
        this.evictFor(subject);
        const taskId = randomBytes(16).toString("hex");
        const ttl = Math.min(params.ttl ?? this.maxTtlMs, this.maxTtlMs);
        const now = new Date().toISOString();
        const task: Task = { taskId, status: "working", ttl, createdAt: now, lastUpdatedAt: now, pollInterval: this.pollIntervalMs };
        const entry: Entry = { subject, task };
        this.entries.set(taskId, entry);
        this.expireAfter(taskId, entry, ttl);
        return { ...task };
      },
      getTask: async (taskId) => {
        const e = own(taskId);
        return e ? { ...e.task } : null;
      },
      storeTaskResult: async (taskId, status, result) => {
        const e = mustOwn(taskId);
        if (TERMINAL.has(e.task.status)) throw new Error(`task ${taskId} has already ended (${e.task.status})`);
        e.result = result;
        this.setStatus(e, status);
      },
      getTaskResult: async (taskId) => {
        const e = mustOwn(taskId);
        if (!e.result) throw new Error(`task ${taskId} has no result yet`);
        return e.result;
      },
      updateTaskStatus: async (taskId, status, statusMessage) => {
        const e = mustOwn(taskId);
        if (TERMINAL.has(e.task.status)) throw new Error(`task ${taskId} has already ended (${e.task.status})`);
        if (statusMessage !== undefined) e.task.statusMessage = statusMessage;
        if (status === "cancelled") {
          e.result ??= {
            content: [{ type: "text", text: statusMessage ?? "cancelled" }],
            isError: true,
          };
          e.cancel?.();
        }
        this.setStatus(e, status);
      },
      listTasks: async (cursor) => {
        const mine = [...this.entries.values()].filter((e) => e.subject === subject);
        const start = cursor ? Number(cursor) : 0;
        if (!Number.isInteger(start) || start < 0) throw new Error("cursor: is not one this server gave");
        const page = mine.slice(start, start + 50).map((e) => ({ ...e.task }));
        return start + 50 < mine.length ? { tasks: page, nextCursor: String(start + 50) } : { tasks: page };
      },
    };
  }

  /** Registers how to stop the work behind a task, for `tasks/cancel`. */
  onCancel(taskId: string, cancel: () => void): void {
    const e = this.entries.get(taskId);
    if (e) e.cancel = cancel;
  }

  /** Notes progress on a running task (its statusMessage) without ending it. */
  note(taskId: string, statusMessage: string): void {
    const e = this.entries.get(taskId);
    if (!e || TERMINAL.has(e.task.status)) return;
    e.task.statusMessage = statusMessage;
    e.task.lastUpdatedAt = new Date().toISOString();
  }

  get size(): number {
    return this.entries.size;
  }

  private setStatus(e: Entry, status: Task["status"]): void {
    e.task.status = status;
    e.task.lastUpdatedAt = new Date().toISOString();
    if (TERMINAL.has(status)) e.cancel = undefined;
  }

  private expireAfter(taskId: string, e: Entry, ttl: number): void {
    e.timer = setTimeout(() => {
      e.cancel?.();
      this.entries.delete(taskId);
    }, ttl);
    e.timer.unref();
  }

  private evictFor(subject: string): void {
    const mine = [...this.entries.entries()].filter(([, e]) => e.subject === subject);
    if (mine.length < this.maxPerSubject) return;
    const victim = mine.find(([, e]) => TERMINAL.has(e.task.status)) ?? mine[0]!;
    victim[1].cancel?.();
    clearTimeout(victim[1].timer);
    this.entries.delete(victim[0]);
  }
}

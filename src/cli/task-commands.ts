import { toJson } from "@bufbuild/protobuf";
import { type Command, Option } from "commander";
import { type TaskEvent, TaskEventSchema, TaskEventType, TaskSchema, TaskState } from "../../gen/meshai/v1/mesh_pb.js";
import type { Config } from "../config.js";
import { eventFromJson, isTerminalEvent } from "../core/mesh/events.js";
import { stopTask } from "../core/mesh/task-service.js";
import { taskMessage } from "../core/mesh/tasks.js";
import type { Platform } from "../core/platform.js";
import { ACTIVE_STATES, TERMINAL_STATES, type TaskRecord } from "../core/store/tasks.js";
import { wholeNumber } from "./agent-commands.js";
import { isoTime, UsageError, withPlatform } from "./support.js";

const oneLine = (text: string, max: number) => {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

/** One event as a line: seq, time, type, state after it, the step it is about, its message and any output chunk. */
export function eventLine(e: TaskEvent): string {
  const time = e.time ? new Date(Number(e.time.seconds) * 1000 + Math.floor(e.time.nanos / 1e6)).toISOString() : "-";
  const parts = [`#${e.seq}`, time, TaskEventType[e.type] ?? "UNSPECIFIED", (TaskState[e.state] ?? "").toLowerCase()];
  if (e.stepId) parts.push(`step ${e.stepId}`);
  if (e.agentId) parts.push(`agent ${e.agentId}`);
  if (e.message) parts.push(e.message);
  if (e.output && e.type === TaskEventType.OUTPUT) parts.push(JSON.stringify(e.output));
  return parts.join("\t");
}

/** The subject's email when it is a user (a client_credentials task's owner is a client id). */
function ownerNames(p: Platform) {
  const cache = new Map<string, string>();
  return async (subject: string) => {
    if (!cache.has(subject)) cache.set(subject, (await p.users.byId(subject))?.email ?? subject);
    return cache.get(subject)!;
  };
}

async function mustFindTask(p: Platform, id: string): Promise<TaskRecord> {
  const t = await p.mesh.tasks.byId(id);
  if (!t) throw new Error(`task ${id} not found`);
  return t;
}

async function storedEvents(p: Platform, id: string): Promise<TaskEvent[]> {
  const out: TaskEvent[] = [];
  for (let after = 0; ; ) {
    const batch = await p.mesh.tasks.eventsAfter(id, after);
    out.push(...batch.map((s) => eventFromJson(s.event)));
    if (batch.length < 500) return out;
    after = batch[batch.length - 1]!.seq;
  }
}

/**
 * `meshai task list | show | watch | cancel`: the console's task and workflow
 * views on the database. `watch` follows the stored events the way a replica
 * that does not run the task follows it (ListTasks, GetTask, WatchTask and
 * CancelTask over gRPC).
 */
export function addTaskCommands(program: Command, config: () => Config): void {
  const task = program.command("task").description("see, follow and cancel tasks and workflows (every user's)");

  task
    .command("list")
    .description("list tasks and workflows, newest first: id, kind, state, agent, created, owner, input")
    .addOption(new Option("--state <state>", "only tasks in this state").choices([...ACTIVE_STATES, ...TERMINAL_STATES]))
    .addOption(new Option("--kind <kind>", "only tasks or only workflows").choices(["task", "workflow"]))
    .option("--parent <workflow_id>", "only the steps of this workflow (oldest first)")
    .option("--agent <agent_id>", "only tasks routed to this agent")
    .option("--limit <n>", "at most this many (1 to 1000)", wholeNumber, 50)
    .option("--json", "print JSON, as ListTasks returns tasks")
    .action(async (opts: { state?: string; kind?: string; parent?: string; agent?: string; limit: number; json?: boolean }) => {
      if (opts.limit < 1 || opts.limit > 1000) throw new UsageError("--limit must be between 1 and 1000");
      await withPlatform(config(), async (p) => {
        const rows = await p.mesh.tasks.list({ kind: opts.kind, state: opts.state, parentId: opts.parent, agentId: opts.agent, offset: 0, limit: opts.limit });
        if (opts.json) {
          console.log(JSON.stringify(rows.map((t) => toJson(TaskSchema, taskMessage(t))), null, 2));
          return;
        }
        const owner = ownerNames(p);
        for (const t of rows) {
          console.log([t.id, t.kind, t.state, t.agentId ?? "-", isoTime(t.createdAt), await owner(t.owner), oneLine(t.input, 60)].join("\t"));
        }
      });
    });

  task
    .command("show <id>")
    .description("one task or workflow: its fields, a workflow's steps, and every event so far")
    .option("--json", "print JSON: {task, steps, events} as GetTask, ListTasks and WatchTask give them")
    .action(async (id: string, opts: { json?: boolean }) => {
      await withPlatform(config(), async (p) => {
        const t = await mustFindTask(p, id);
        const steps = t.kind === "workflow" ? await p.mesh.tasks.list({ parentId: t.id, offset: 0, limit: 1000 }) : [];
        const events = await storedEvents(p, t.id);
        if (opts.json) {
          console.log(
            JSON.stringify(
              {
                task: toJson(TaskSchema, taskMessage(t)),
                steps: steps.map((s) => toJson(TaskSchema, taskMessage(s))),
                events: events.map((e) => toJson(TaskEventSchema, e)),
              },
              null,
              2,
            ),
          );
          return;
        }
        const rows: Array<[string, string]> = [
          ["id", t.id],
          ["kind", t.kind],
          ["state", t.state],
          ["owner", await ownerNames(p)(t.owner)],
          ["agent", t.agentId ?? "-"],
          ["workflow", t.parentId ?? "-"],
          ["capabilities", t.capabilities.join(", ") || "-"],
          ["created", isoTime(t.createdAt)],
          ["ended", isoTime(t.endedAt)],
          ["input", oneLine(t.input, 200)],
        ];
        if (t.error) rows.push(["error", t.error]);
        for (const [k, v] of rows) console.log(`${k.padEnd(13)}${v}`);
        if (t.output) console.log(`output\n${t.output}`);
        if (steps.length) {
          console.log(`steps (${steps.length})`);
          for (const s of steps) console.log(`  ${[s.id, s.state, s.agentId ?? "-", oneLine(s.input, 60)].join("\t")}`);
        }
        console.log(`events (${events.length})`);
        for (const e of events) console.log(`  ${eventLine(e)}`);
      });
    });

  task
    .command("watch <id>")
    .description("print a task's events as they happen until it ends; exit 0 if it completed, 1 if it failed or was cancelled")
    .option("--after <seq>", "only events after this seq (0: from the start)", wholeNumber, 0)
    .option("--json", "one JSON event per line, as WatchTask streams them")
    .action(async (id: string, opts: { after: number; json?: boolean }) => {
      await withPlatform(config(), async (p) => {
        const t = await mustFindTask(p, id);
        if (opts.after > t.lastSeq && TERMINAL_STATES.includes(t.state)) throw new UsageError(`--after: task ${t.id} ended at seq ${t.lastSeq}`);
        const stop = new AbortController();
        const onSignal = () => stop.abort();
        process.once("SIGINT", onSignal);
        process.once("SIGTERM", onSignal);
        let last: TaskEvent | undefined;
        try {
          for await (const e of p.mesh.executor.follow(t.id, opts.after, stop.signal)) {
            console.log(opts.json ? JSON.stringify(toJson(TaskEventSchema, e)) : eventLine(e));
            last = e;
          }
        } finally {
          process.off("SIGINT", onSignal);
          process.off("SIGTERM", onSignal);
        }
        if (stop.signal.aborted) {
          process.exitCode = 130;
          return;
        }
        const end = (await p.mesh.tasks.byId(t.id)) ?? t;
        if (last && !isTerminalEvent(last) && !TERMINAL_STATES.includes(end.state)) return;
        if (end.state !== "completed") {
          console.error(`meshai: task ${t.id} ${end.state}${end.error ? `: ${end.error}` : ""}`);
          process.exitCode = 1;
        }
      });
    });

  task
    .command("cancel <id>")
    .description("cancel a running task or workflow (its running steps stop, the rest are skipped); an ended one is left as it is")
    .option("--reason <text>", "why, recorded in the cancelled event", "cancelled by an administrator (meshai task cancel)")
    .action(async (id: string, opts: { reason: string }) => {
      if (opts.reason.length > 500) throw new UsageError("--reason must be at most 500 characters");
      await withPlatform(config(), async (p) => {
        const t = await mustFindTask(p, id);
        if (TERMINAL_STATES.includes(t.state)) {
          console.log(`task ${t.id} had already ended (${t.state})`);
          return;
        }
        await stopTask(p.mesh, t, opts.reason);
        const after = (await p.mesh.tasks.byId(t.id)) ?? t;
        console.log(`task ${t.id} is ${after.state}`);
      });
    });
}

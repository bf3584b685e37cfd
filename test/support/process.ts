// Helpers for tests that run the real `meshai` command as a child process:
// throwaway data dirs, free loopback ports, one-shot commands, and `serve`
// processes that are started, awaited and stopped with SIGTERM.
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import sqlite3 from "sqlite3";

/** The repository root: the CLI runs from here, as `npm start` does. */
export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const CLI = path.join(ROOT, "bin", "meshai.js");
export const BUF = path.join(ROOT, "node_modules", ".bin", "buf");

/** Safety net for one CLI call; tsx start-up makes a call take a second or two. */
export const COMMAND_TIMEOUT_MS = 30_000;

export type Env = Record<string, string>;

/** A fresh, empty data directory under the OS temp dir. */
export function makeDataDir(prefix = "meshai-cli-"): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function removeDir(dir: string | undefined): void {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}

/** A TCP port that was free on 127.0.0.1 a moment ago (listen on :0, read it, close). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}

/**
 * The environment for a child `meshai`: this process's environment without any
 * MESHAI_* variable (so a developer's shell cannot leak in), then loopback
 * defaults, then `extra`. A key set to `undefined` in `extra` is removed.
 */
export function cliEnv(extra: Record<string, string | undefined> = {}): Env {
  const env: Env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith("MESHAI_")) env[k] = v;
  }
  env.MESHAI_HOST = "127.0.0.1";
  env.MESHAI_LOG_LEVEL = "error";
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** An environment with its own fresh data dir and free HTTP and gRPC ports. */
export async function freshEnv(extra: Record<string, string | undefined> = {}): Promise<{
  env: Env;
  dataDir: string;
  httpPort: number;
  grpcPort: number;
}> {
  const dataDir = makeDataDir();
  const httpPort = await freePort();
  let grpcPort = await freePort();
  while (grpcPort === httpPort) grpcPort = await freePort();
  const env = cliEnv({
    MESHAI_DATA_DIR: dataDir,
    MESHAI_HTTP_PORT: String(httpPort),
    MESHAI_GRPC_PORT: String(grpcPort),
    ...extra,
  });
  return { env, dataDir, httpPort, grpcPort };
}

export interface RunResult {
  /** Exit code, or null when the process was killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env: Env;
  /** Written to stdin, which is then closed (stdin is always closed). */
  input?: string;
  timeoutMs?: number;
  cwd?: string;
}

/** Runs any program to completion, collecting its output; kills it and rejects after the timeout. */
export function run(file: string, args: string[], opts: RunOptions): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? COMMAND_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: opts.cwd ?? ROOT, env: opts.env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
    child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${path.basename(file)} ${args.join(" ")} did not finish within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.once("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.on("error", () => {}); // the child may exit before reading stdin
    child.stdin.end(opts.input ?? "");
  });
}

/** Runs `node bin/meshai.js ...args` to completion. */
export function runCli(args: string[], opts: RunOptions): Promise<RunResult> {
  return run(process.execPath, [CLI, ...args], opts);
}

export interface Served {
  child: ChildProcess;
  /** Everything printed so far. */
  stdout(): string;
  stderr(): string;
  /** The facade URL from "MeshAI HTTP facade on <url>" (empty for --role core). */
  facadeUrl: string;
  /** The core URL from "MeshAI core ... on <url>" (empty for --role facade). */
  coreUrl: string;
  /** SIGTERM, then wait for the exit; SIGKILL and reject after the timeout. */
  stop(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the exit once the process has ended (for any reason). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running = new Set<ChildProcess>();

const FACADE_LINE = /^MeshAI HTTP facade on (\S+)$/m;
const CORE_LINE = /^MeshAI core \(.*\) on (\S+)/m;

/** The line `serve` prints last once it listens, per role (the facade's banner ends with the health URLs). */
const READY_LINE: Record<string, RegExp> = {
  all: /^ {2}health {2,}\S+/m,
  facade: /^ {2}health {2,}\S+/m,
  core: CORE_LINE,
};

/**
 * Starts `meshai serve [args]` and resolves once it printed its whole banner
 * (through the health URLs; through the core URL for `--role core`). Rejects, and
 * kills the process, if it exits first or the timeout passes.
 */
export async function startServe(args: string[], opts: { env: Env; timeoutMs?: number }): Promise<Served> {
  const roleAt = args.indexOf("--role");
  const role = roleAt >= 0 ? args[roleAt + 1]! : "all";
  const ready = READY_LINE[role] ?? READY_LINE.all!;
  const timeoutMs = opts.timeoutMs ?? COMMAND_TIMEOUT_MS;

  const child = spawn(process.execPath, [CLI, "serve", ...args], { cwd: ROOT, env: opts.env, stdio: ["ignore", "pipe", "pipe"] });
  running.add(child);
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (c: string) => (stdout += c));
  child.stderr!.setEncoding("utf8").on("data", (c: string) => (stderr += c));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    });
  });
  // Output may still be in the pipes at "exit"; "close" comes after it is drained.
  const closed = new Promise<void>((resolve) => child.once("close", () => resolve()));

  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      child.kill("SIGKILL");
      reject(new Error(`meshai serve ${args.join(" ")} did not get ready within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    const onData = () => {
      if (ready.test(stdout)) {
        cleanup();
        resolve();
      }
    };
    const onExit = () => {
      cleanup();
      void closed.then(() =>
        reject(new Error(`meshai serve ${args.join(" ")} exited before it was ready (code ${child.exitCode}, signal ${child.signalCode})\nstdout: ${stdout}\nstderr: ${stderr}`)),
      );
    };
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout!.off("data", onData);
      child.off("exit", onExit);
    };
    child.stdout!.on("data", onData);
    child.once("exit", onExit);
    onData();
  });

  const match = (re: RegExp) => re.exec(stdout)?.[1] ?? "";
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    facadeUrl: match(FACADE_LINE),
    coreUrl: match(CORE_LINE),
    exited,
    async stop(stopTimeoutMs = COMMAND_TIMEOUT_MS) {
      const result = await stopProcess(child, exited, stopTimeoutMs);
      await closed;
      return result;
    },
  };
}

/** Sends SIGTERM and waits for the exit; SIGKILLs and rejects when it takes longer than the timeout. */
export async function stopProcess(
  child: ChildProcess,
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>,
  timeoutMs = COMMAND_TIMEOUT_MS,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`process ${child.pid} did not exit within ${timeoutMs} ms of SIGTERM`));
    }, timeoutMs);
  });
  try {
    return await Promise.race([exited, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/** Kills every `serve` this module started that is still running (for afterAll/afterEach). */
export async function killAll(): Promise<void> {
  const left = [...running];
  await Promise.all(
    left.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once("exit", () => resolve());
          child.kill("SIGKILL");
        }),
    ),
  );
}

/** Decodes one base64url JSON part of a JWT. */
export function jwtPart(token: string, index: 0 | 1): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split(".")[index]!, "base64url").toString("utf8")) as Record<string, unknown>;
}

/** Polls `check` until it returns true, at most `attempts` times `intervalMs` apart; returns the last answer. */
export async function pollUntil(check: () => Promise<boolean>, attempts = 40, intervalMs = 250): Promise<boolean> {
  for (let i = 0; i < attempts; i++) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  return false;
}

/** The SQLite file `meshai` keeps in a data dir. */
export function sqliteFile(dataDir: string): string {
  return path.join(dataDir, "meshai.sqlite");
}

/** Runs one query on a SQLite file opened read-only (the CLI's own code is not used). */
export async function query<T>(file: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const db = await new Promise<sqlite3.Database>((resolve, reject) => {
    const d = new sqlite3.Database(file, sqlite3.OPEN_READONLY, (err) => (err ? reject(err) : resolve(d)));
  });
  try {
    return await new Promise<T[]>((resolve, reject) => db.all(sql, params, (err, rows) => (err ? reject(err) : resolve(rows as T[]))));
  } finally {
    await new Promise<void>((resolve) => db.close(() => resolve()));
  }
}

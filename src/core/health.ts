// grpc.health.v1.Health: what load balancers, Kubernetes (grpc probes) and
// grpc-health-probe ask. One probe (e.g. "the store answers") decides the
// status of the whole server and of every named service.
import { Code, ConnectError } from "@connectrpc/connect";
import type { ServiceImpl } from "@connectrpc/connect";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/grpc/health/v1/health_pb.js";

export { Status as ServingStatus };

export interface HealthOptions {
  /** Fully-qualified service names to answer for, besides "" (the whole server). */
  services?: Iterable<string>;
  /** How often Watch streams re-run the probe; default 5000 ms. */
  pollMs?: number;
}

export interface HealthService {
  /** Mount with `router.service(Health, health.impl)`. */
  readonly impl: ServiceImpl<typeof Health>;
  /** Re-runs the probe now and pushes a change to every Watch stream. */
  refresh(): Promise<Status>;
  /** Marks everything NOT_SERVING for good, so balancers drain us before we stop. */
  shutdown(): void;
}

/**
 * Creates the Health service. Check runs the probe on every call (it must be
 * cheap); Watch sends the current status, then each change, found by polling
 * only while some Watch stream is open.
 */
export function createHealthService(probe: () => Promise<boolean>, options: HealthOptions = {}): HealthService {
  const known = new Set(["", ...(options.services ?? [])]);
  const pollMs = options.pollMs ?? 5000;
  let current = Status.UNKNOWN;
  let down = false;
  let started = 0; // probe runs started
  let applied = 0; // the newest run whose result is in `current`
  const waiters = new Set<() => void>();
  let watchers = 0;
  let timer: NodeJS.Timeout | undefined;

  function set(status: Status) {
    if (status === current) return;
    current = status;
    for (const wake of [...waiters]) wake();
  }

  async function refresh(): Promise<Status> {
    const run = ++started;
    const ok = await probe().then(
      (v) => v === true,
      () => false, // a probe that throws means "not serving", never a failed RPC
    );
    // A slow older run must not overwrite a newer answer, nor undo shutdown().
    if (run > applied && !down) {
      applied = run;
      set(ok ? Status.SERVING : Status.NOT_SERVING);
    }
    return current;
  }

  /** Resolves on the next status change or when the call ends. */
  function changed(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        waiters.delete(wake);
        signal.removeEventListener("abort", wake);
        resolve();
      };
      waiters.add(wake);
      signal.addEventListener("abort", wake, { once: true });
      if (signal.aborted) wake();
    });
  }

  const impl: ServiceImpl<typeof Health> = {
    async check(req) {
      if (!known.has(req.service)) throw new ConnectError(`unknown service ${req.service}`, Code.NotFound);
      return { status: await refresh() };
    },
    async *watch(req, ctx) {
      // The set of names is fixed, so an unknown name stays unknown: say so once
      // and keep the call open, as the protocol asks.
      if (!known.has(req.service)) {
        yield { status: Status.SERVICE_UNKNOWN };
        await changedUntilAbort(ctx.signal);
        return;
      }
      if (watchers++ === 0) timer = setInterval(() => void refresh(), pollMs).unref();
      try {
        await refresh();
        let sent: Status | undefined;
        while (!ctx.signal.aborted) {
          if (current !== sent) {
            sent = current;
            yield { status: sent };
          } else {
            await changed(ctx.signal); // no await between the check and here: no lost update
          }
        }
      } finally {
        if (--watchers === 0) clearInterval(timer);
      }
    },
    async list() {
      const status = await refresh();
      return { statuses: Object.fromEntries([...known].map((name) => [name, { status }])) };
    },
  };

  async function changedUntilAbort(signal: AbortSignal) {
    while (!signal.aborted) await changed(signal);
  }

  return {
    impl,
    refresh,
    shutdown() {
      down = true;
      set(Status.NOT_SERVING);
    },
  };
}

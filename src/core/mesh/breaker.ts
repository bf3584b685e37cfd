import { CircuitBreakerPolicy, CircuitState, ConsecutiveBreaker, type IBreaker, circuitBreaker, handleWhen } from "cockatiel";

/** MeshAI's public model: open after 5 consecutive failures, half-open after 30 s, close after 3 successes. */
export const BREAKER_DEFAULTS = { failureThreshold: 5, halfOpenAfterMs: 30_000, successesToClose: 3 };

export type CircuitStateName = "closed" | "open" | "half_open";

/** A call that ended because we cancelled it is not the agent's fault and must not trip its breaker. */
export class CallAbortedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CallAbortedError";
  }
}

/**
 * cockatiel closes a half-open circuit after one successful test call. The
 * model wants three: this breaker keeps a probation after that first success
 * during which any failure opens the circuit again at once, and the
 * remaining successes end the probation.
 */
class ProbationBreaker implements IBreaker {
  private readonly consecutive: ConsecutiveBreaker;
  probation = 0;
  constructor(threshold: number, private readonly successesToClose: number) {
    this.consecutive = new ConsecutiveBreaker(threshold);
  }
  get state(): unknown {
    return { consecutive: this.consecutive.state, probation: this.probation };
  }
  set state(_value: unknown) {
    /* state is process-local; nothing to restore */
  }
  success(state: CircuitState): void {
    this.consecutive.success();
    if (state === CircuitState.HalfOpen) this.probation = this.successesToClose - 1;
    else if (this.probation > 0) this.probation--;
  }
  failure(state: CircuitState): boolean {
    if (state === CircuitState.HalfOpen) return true;
    if (this.probation > 0) {
      this.probation = 0;
      return true;
    }
    return this.consecutive.failure();
  }
}

interface Entry {
  policy: CircuitBreakerPolicy;
  breaker: ProbationBreaker;
  openedAt: number;
  /** The state last reported to onChange. */
  reported: CircuitStateName;
}

export interface BreakerOptions extends Partial<typeof BREAKER_DEFAULTS> {
  /** Told of each state change, seen after each call through the breaker (logs). */
  onChange?: (agentId: string, from: CircuitStateName, to: CircuitStateName) => void;
}

/** One cockatiel circuit breaker per agent id, kept for the life of the process. */
export function createBreakers(options: BreakerOptions = {}) {
  const { onChange, ...limits } = options;
  const o = { ...BREAKER_DEFAULTS, ...limits };
  const entries = new Map<string, Entry>();

  function entry(agentId: string): Entry {
    let e = entries.get(agentId);
    if (!e) {
      const breaker = new ProbationBreaker(o.failureThreshold, o.successesToClose);
      const policy = circuitBreaker(
        handleWhen((err) => !(err instanceof CallAbortedError)),
        { halfOpenAfter: o.halfOpenAfterMs, breaker },
      );
      const created: Entry = { policy, breaker, openedAt: 0, reported: "closed" };
      policy.onBreak(() => {
        created.openedAt = Date.now();
        breaker.probation = 0;
      });
      entries.set(agentId, created);
      e = created;
    }
    return e;
  }

  return {
    /** Runs `fn` through the agent's breaker; throws cockatiel's BrokenCircuitError while open. */
    async execute<T>(agentId: string, fn: () => Promise<T>): Promise<T> {
      const e = entry(agentId);
      try {
        return await e.policy.execute(fn);
      } finally {
        const now = this.state(agentId);
        if (now !== e.reported) {
          onChange?.(agentId, e.reported, now);
          e.reported = now;
        }
      }
    },
    /** Every agent that has a breaker, with its state now (the circuit-breaker gauge). */
    *states(): Iterable<[string, CircuitStateName]> {
      for (const id of entries.keys()) yield [id, this.state(id)];
    },
    state(agentId: string): CircuitStateName {
      const e = entries.get(agentId);
      if (!e) return "closed";
      switch (e.policy.state) {
        case CircuitState.Open:
        case CircuitState.Isolated:
          return Date.now() - e.openedAt >= o.halfOpenAfterMs ? "half_open" : "open";
        case CircuitState.HalfOpen:
          return "half_open";
        default:
          return e.breaker.probation > 0 ? "half_open" : "closed";
      }
    },
    /** True when a call would be refused right now (open and not yet due for a test call). */
    isOpen(agentId: string): boolean {
      return this.state(agentId) === "open";
    },
    forget(agentId: string): void {
      entries.delete(agentId);
    },
  };
}

export type Breakers = ReturnType<typeof createBreakers>;

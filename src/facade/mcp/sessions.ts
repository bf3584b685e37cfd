/** Anything a session holds that must be released when it ends. */
export interface SessionEntry {
  id: string;
  /** The token subject the session was opened by; only that user may use it. */
  subject: string;
  /** Epoch ms of the last request. */
  lastSeen: number;
  /** HTTP exchanges in flight (open SSE streams count); a busy session never idles out. */
  active: number;
  close(): Promise<void>;
}

export interface SessionLimits {
  /** A session unused this long is closed (ms). */
  idleMs: number;
  /** Sessions open at once; past it the least recently used goes. */
  maxSessions: number;
  /** Sessions per user; ChatGPT re-initializes often, so its oldest go first. */
  maxPerSubject: number;
}

export const DEFAULT_SESSION_LIMITS: SessionLimits = { idleMs: 30 * 60 * 1000, maxSessions: 1000, maxPerSubject: 50 };

/**
 * The open MCP sessions of one transport, bounded in number and in idle time,
 * each bound to the subject that opened it. Lookups by another subject answer
 * "none", so a session id is useless with someone else's token.
 */
export class SessionRegistry<T extends SessionEntry> {
  private readonly sessions = new Map<string, T>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly limits: SessionLimits,
    private readonly now: () => number = Date.now,
  ) {
    this.timer = setInterval(() => this.sweep(), Math.max(50, Math.min(limits.idleMs / 4, 60_000)));
    this.timer.unref();
  }

  /** The session, if it exists, has not idled out and belongs to `subject`. */
  get(id: string, subject: string): T | undefined {
    const s = this.sessions.get(id);
    if (!s || s.subject !== subject) return undefined;
    if (s.active === 0 && this.now() - s.lastSeen > this.limits.idleMs) {
      this.end(s);
      return undefined;
    }
    // Map order doubles as recency order: move to the end.
    this.sessions.delete(id);
    this.sessions.set(id, s);
    s.lastSeen = this.now();
    return s;
  }

  /** Makes room for one more session of `subject` by closing the least recently used ones. */
  reserve(subject: string): void {
    let mine = [...this.sessions.values()].filter((s) => s.subject === subject);
    while (mine.length >= this.limits.maxPerSubject) {
      const victim = this.pickVictim(mine)!;
      this.end(victim);
      mine = mine.filter((s) => s !== victim);
    }
    while (this.sessions.size >= this.limits.maxSessions) {
      const victim = this.pickVictim([...this.sessions.values()]);
      if (!victim) break;
      this.end(victim);
    }
  }

  add(session: T): void {
    session.lastSeen = this.now();
    this.sessions.set(session.id, session);
  }

  remove(id: string): void {
    this.sessions.delete(id);
  }

  get size(): number {
    return this.sessions.size;
  }

  /** Closes every session (shutdown). */
  async closeAll(): Promise<void> {
    clearInterval(this.timer);
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.allSettled(all.map((s) => s.close()));
  }

  /** Oldest idle one first, else simply the oldest. */
  private pickVictim(candidates: T[]): T | undefined {
    return candidates.find((s) => s.active === 0) ?? candidates[0];
  }

  private end(s: T): void {
    this.sessions.delete(s.id);
    void s.close().catch(() => undefined);
  }

  private sweep(): void {
    const cutoff = this.now() - this.limits.idleMs;
    for (const s of [...this.sessions.values()]) if (s.active === 0 && s.lastSeen < cutoff) this.end(s);
  }
}

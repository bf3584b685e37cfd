import type { EventStore, EventId, StreamId } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";

export interface SessionEventStoreOptions {
  /** Events kept per session across all its streams; the oldest go first. */
  maxEvents?: number;
  /**
   * Events kept of streams whose call has been answered (the JSON-RPC
   * response is stored): a client whose connection dropped around the answer
   * comes back within its retry interval, so a short tail serves it, while a
   * busy session's history of finished calls would otherwise hold megabytes.
   */
  maxFinishedEvents?: number;
}

/**
 * One session's SSE history, so a client that lost its connection can send
 * `Last-Event-ID` and get every message (progress, result) it missed.
 * Event ids are `<stream id>.<n>` with `n` counting up per session, so they
 * are unique within the session and name their stream. Memory is bounded:
 * past `maxEvents` the oldest events are dropped, streams of answered calls
 * past `maxFinishedEvents` go first (the oldest answered first), and an id
 * that is no longer (or never was) stored is answered "unknown" (the
 * transport says 400).
 */
export class SessionEventStore implements EventStore {
  private readonly events = new Map<EventId, { streamId: StreamId; n: number; message: JSONRPCMessage }>();
  private readonly byStream = new Map<StreamId, EventId[]>();
  /** Streams whose call has been answered, oldest answer first. */
  private readonly finished = new Set<StreamId>();
  private finishedEvents = 0;
  private counter = 0;
  private readonly maxEvents: number;
  private readonly maxFinishedEvents: number;

  constructor(opts: SessionEventStoreOptions = {}) {
    this.maxEvents = opts.maxEvents ?? 2000;
    this.maxFinishedEvents = opts.maxFinishedEvents ?? 200;
  }

  async storeEvent(streamId: StreamId, message: JSONRPCMessage): Promise<EventId> {
    const n = ++this.counter;
    const id = `${streamId}.${n}`;
    this.events.set(id, { streamId, n, message });
    let ids = this.byStream.get(streamId);
    if (!ids) this.byStream.set(streamId, (ids = []));
    ids.push(id);
    if (this.finished.has(streamId)) this.finishedEvents++;
    else if ("result" in message || "error" in message) {
      // The answer: this stream's call is over (a batch's stream ends at its first answer here, which only
      // makes it an earlier candidate for forgetting).
      this.finished.add(streamId);
      this.finishedEvents += ids.length;
    }
    while (this.finishedEvents > this.maxFinishedEvents && this.finished.size > 1) this.forgetStream(this.finished.values().next().value!);
    while (this.events.size > this.maxEvents) this.dropOldest();
    return id;
  }

  async getStreamIdForEventId(eventId: EventId): Promise<StreamId | undefined> {
    return this.events.get(eventId)?.streamId;
  }

  async replayEventsAfter(
    lastEventId: EventId,
    { send }: { send: (eventId: EventId, message: JSONRPCMessage) => Promise<void> },
  ): Promise<StreamId> {
    const last = this.events.get(lastEventId);
    if (!last) throw new Error("unknown Last-Event-ID");
    for (const id of [...(this.byStream.get(last.streamId) ?? [])]) {
      const e = this.events.get(id);
      if (!e || e.n <= last.n) continue;
      if (Object.keys(e.message).length === 0) continue; // a priming event carries no message
      await send(id, e.message);
    }
    return last.streamId;
  }

  /** Number of events held (for tests and the idle-session memory figure). */
  get size(): number {
    return this.events.size;
  }

  private dropOldest(): void {
    const oldest = this.events.keys().next().value;
    if (oldest === undefined) return;
    const e = this.events.get(oldest)!;
    this.events.delete(oldest);
    if (this.finished.has(e.streamId)) this.finishedEvents--;
    const ids = this.byStream.get(e.streamId);
    if (ids) {
      ids.shift();
      if (ids.length === 0) this.forgetStream(e.streamId);
    }
  }

  private forgetStream(streamId: StreamId): void {
    const ids = this.byStream.get(streamId) ?? [];
    for (const id of ids) this.events.delete(id);
    this.byStream.delete(streamId);
    if (this.finished.delete(streamId)) this.finishedEvents -= ids.length;
  }
}

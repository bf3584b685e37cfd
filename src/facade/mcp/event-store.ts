import type { EventStore, EventId, StreamId } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";

export interface SessionEventStoreOptions {
  /** Events kept per session across all its streams; the oldest go first. */
  maxEvents?: number;
}

/**
 * One session's SSE history, so a client that lost its connection can send
 * `Last-Event-ID` and get every message (progress, result) it missed.
 * Event ids are `<stream id>.<n>` with `n` counting up per session, so they
 * are unique within the session and name their stream. Memory is bounded:
 * past `maxEvents` the oldest events are dropped, and an id that is no longer
 * (or never was) stored is answered "unknown" (the transport says 400).
 */
export class SessionEventStore implements EventStore {
  private readonly events = new Map<EventId, { streamId: StreamId; n: number; message: JSONRPCMessage }>();
  private readonly byStream = new Map<StreamId, EventId[]>();
  private counter = 0;
  private readonly maxEvents: number;

  constructor(opts: SessionEventStoreOptions = {}) {
    this.maxEvents = opts.maxEvents ?? 2000;
  }

  async storeEvent(streamId: StreamId, message: JSONRPCMessage): Promise<EventId> {
    const n = ++this.counter;
    const id = `${streamId}.${n}`;
    this.events.set(id, { streamId, n, message });
    let ids = this.byStream.get(streamId);
    if (!ids) this.byStream.set(streamId, (ids = []));
    ids.push(id);
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
    const ids = this.byStream.get(e.streamId);
    if (ids) {
      ids.shift();
      if (ids.length === 0) this.byStream.delete(e.streamId);
    }
  }
}

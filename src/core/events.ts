/** Metadata key → value; broadcasts filter on it. */
export type Metadata = Readonly<Record<string, string>>;

/** Who an event is for: everyone (all null), a room, a user or one connection, narrowed by filters. */
export interface Target {
  readonly room: string | null;
  readonly userId: string | null;
  readonly connectionId: string | null;
  readonly filters: Metadata | null;
}

/** An event before the history assigns its id. */
export interface EventDraft extends Target {
  readonly type: string;
  readonly data: unknown;
  /** The publishing token's `sub`, or `system` for the built-in feeds. */
  readonly sender: string;
  /** For a connection-targeted event: the user owning that connection (history entitlement). */
  readonly ownerUserId: string | null;
  /** `data` already serialized, when the publisher had it; saves a second stringify. */
  readonly dataJson?: string;
}

/** A published event, as kept in history. */
export interface HubEvent extends EventDraft {
  readonly id: string;
  /** ISO-8601. */
  readonly timestamp: string;
}

/** The public JSON shape of an event (the SSE `data:` line and history answers). */
export interface PublicEvent {
  id: string;
  type: string;
  data: unknown;
  room: string | null;
  userId: string | null;
  sender: string;
  timestamp: string;
}

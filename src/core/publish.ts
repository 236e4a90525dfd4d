import { createHash } from 'node:crypto';
import type { HubContext } from './context.js';
import { HubError, STORE_RETRY_AFTER_SEC } from './errors.js';
import type { EventDraft, HubEvent, Metadata } from './events.js';
import { frameBytes } from './frame.js';
import { ANSWER_ID_SLOT, type AnswerRecord, type RecordAnswer } from './ports.js';

/** A validated publish request. */
export interface PublishInput {
  type: string;
  data: unknown;
  room: string | null;
  userId: string | null;
  connectionId: string | null;
  filters: Metadata | null;
}

/** The answer to one publish. */
export interface PublishResult {
  id: string;
  recipients: number;
}

/** The answer to a publish or a batch. */
export type PublishAnswer = PublishResult | { ids: string[] };

/** An answer kept under an idempotency key, with the digest of the request it answers. */
interface Fingerprinted<T> {
  request: string;
  answer: T;
}

/** The publish use-case: check, append to history (the id is assigned there), fan out. */
export class Publishing {
  constructor(private readonly ctx: HubContext) {}

  /** Publishes one event; sender is the token's sub; `record` stores the idempotency answer with it. */
  async publish(sender: string, input: PublishInput, record?: RecordAnswer): Promise<PublishResult> {
    const draft = await this.prepare(sender, input);
    const recipients = await this.countRecipients(draft);
    const [ev] = await this.emit([draft], record?.({ id: ANSWER_ID_SLOT, recipients } satisfies PublishResult));
    return { id: ev!.id, recipients };
  }

  /**
   * Publishes events in order, in one atomic step: all are checked first (size, target), so a bad
   * one publishes nothing, and none is stored unless all are.
   */
  async publishBatch(sender: string, inputs: readonly PublishInput[], record?: RecordAnswer): Promise<{ ids: string[] }> {
    const drafts: EventDraft[] = [];
    for (const input of inputs) drafts.push(await this.prepare(sender, input));
    const events = await this.emit(drafts, record?.({ ids: drafts.map(() => ANSWER_ID_SLOT) }));
    return { ids: events.map((ev) => ev.id) };
  }

  /**
   * Runs a publish once per idempotency key (scoped to the sender), and answers once its events are
   * as durable as the deployment asks (REDIS_WAIT_REPLICAS). The answer is stored before that wait,
   * so a publish answered 503 because the wait ran out is, on retry, confirmed again rather than
   * published twice. `request` (endpoint and events) is stored with the answer as a digest: the
   * same key sent with another request is refused (400), never answered with the other's answer.
   */
  async idempotent<T extends PublishAnswer>(
    sender: string, key: string | undefined, request: unknown, run: (record?: RecordAnswer) => Promise<T>,
  ): Promise<T> {
    const scoped = key === undefined ? undefined : `${sender}\u0000${key}`;
    let answer: T;
    if (scoped === undefined) answer = await run();
    else {
      const digest = createHash('sha256').update(JSON.stringify(request)).digest('base64url');
      const kept = await this.ctx.idempotency.once(scoped, async (record): Promise<Fingerprinted<T>> =>
        ({ request: digest, answer: await run(record && ((a) => record({ request: digest, answer: a }))) }));
      if (kept.request !== digest) {
        throw new HubError('invalid_request', 'this Idempotency-Key was first used with another request; use a new key for a new request',
          [{ path: 'Idempotency-Key', message: 'already used with another request' }]);
      }
      answer = kept.answer;
    }
    const { broker, idempotency } = this.ctx;
    if (broker.confirm === undefined || (await broker.confirm('id' in answer ? [answer.id] : answer.ids))) return answer;
    // Lost with a primary that died before its replicas had it: never answered 202, so it may be published again.
    if (scoped !== undefined) await idempotency.forget?.(scoped);
    throw new HubError('unavailable', 'the event was lost in a Redis failover before it reached a replica; publish it again', undefined, STORE_RETRY_AFTER_SEC);
  }

  /** Checks one event (the target connection is open, the encoded size fits) and builds its draft. */
  private async prepare(sender: string, input: PublishInput): Promise<EventDraft> {
    let ownerUserId: string | null = null;
    if (input.connectionId !== null) {
      ownerUserId = await this.ctx.directory.connectionOwner(input.connectionId);
      if (ownerUserId === null) throw new HubError('not_found', `no open connection "${input.connectionId}"`);
    }
    const dataJson = JSON.stringify(input.data ?? null);
    const draft: EventDraft = {
      type: input.type, data: input.data ?? null, room: input.room, userId: input.userId,
      connectionId: input.connectionId, filters: input.filters, sender, ownerUserId, dataJson,
    };
    const bytes = frameBytes(draft, dataJson);
    if (bytes > this.ctx.opts.maxEventBytes) {
      throw new HubError('payload_too_large', `the encoded event is ${bytes} bytes; the limit is ${this.ctx.opts.maxEventBytes}`);
    }
    return draft;
  }

  /**
   * Appends checked drafts to history and fans them out, in one step (with the answer, if any).
   * No shutdown check here: a publish request that arrived before shutdown is finished (with Redis
   * its event still reaches the other processes); new requests are refused at the HTTP door.
   */
  private async emit(drafts: readonly EventDraft[], answer: AnswerRecord | undefined): Promise<HubEvent[]> {
    let events: HubEvent[];
    try {
      events = await this.ctx.broker.publish(drafts, answer);
    } catch (err) {
      if (err instanceof HubError) throw err;
      this.ctx.logger.error({ err, type: drafts[0]?.type }, 'publish failed: history or fan-out unreachable');
      throw new HubError('unavailable', 'the event could not be stored; try again', undefined, STORE_RETRY_AFTER_SEC);
    }
    this.ctx.counters.published(events.length);
    return events;
  }

  private async countRecipients(draft: EventDraft): Promise<number> {
    const { manager, directory } = this.ctx;
    const local = manager.countRecipients(draft);
    if (!directory.distributed) return local;
    // Other processes' connections are counted from the directory, without their filters.
    const hubWide = await directory.targetCount(draft);
    const localUnfiltered = draft.filters === null ? local : manager.countRecipients({ ...draft, filters: null });
    return local + Math.max(0, hubWide - localUnfiltered);
  }
}

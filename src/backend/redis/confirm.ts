import { HubError } from '../../core/errors.js';
import { CONFIRM_LUA } from './broker-lua.js';
import { REDIS_RETRY_AFTER_SEC, type RedisClient, type RedisErrors } from './client.js';
import './commands.js';

/** What a ReplicaConfirm is built from. */
export interface ReplicaConfirmOptions {
  /** The history stream and a scratch key in the same slot. */
  keys: { history: string; marker: string };
  replicas: number;
  timeoutMs: number;
  errors: RedisErrors;
}

/** One WAIT round: the ids of every caller that joined it before it was sent. */
interface Round {
  ids: Set<string>;
  missing: Promise<Set<string>>;
}

/**
 * REDIS_WAIT_REPLICAS: confirms that published events reached that many replicas. One round is
 * a pipeline on one connection — a script that checks the events are on the serving primary and
 * writes once, then `WAIT replicas timeout` — so the WAIT covers every event that primary holds,
 * whichever connection published it, and an event lost in a failover is told apart from one not
 * yet replicated. Rounds are group commits: callers join the round not yet sent, one round is in
 * flight at a time. WAIT blocks its connection, so this client serves nothing else.
 */
export class ReplicaConfirm {
  private next: Round | undefined;
  private inFlight: Promise<unknown> | undefined;

  constructor(private readonly client: RedisClient, private readonly opts: ReplicaConfirmOptions) {
    client.defineCommand('roomcastConfirm', { numberOfKeys: 2, lua: CONFIRM_LUA });
  }

  /**
   * Resolves true once every given event is on `replicas` replicas, false when one of them is no
   * longer on the primary (lost in a failover); a 503 HubError when that is not known in time.
   */
  async confirm(ids: readonly string[]): Promise<boolean> {
    const round = (this.next ??= this.newRound());
    for (const id of ids) round.ids.add(id);
    const missing = await round.missing;
    return !ids.some((id) => missing.has(id));
  }

  private newRound(): Round {
    const round: Round = { ids: new Set(), missing: Promise.resolve(new Set()) };
    round.missing = (async () => {
      // Waiting (at least one tick) lets every caller of this tick, and of the round in flight, join.
      await this.inFlight;
      if (this.next === round) this.next = undefined;
      const run = this.send([...round.ids]);
      this.inFlight = run.catch(() => undefined);
      return run;
    })();
    return round;
  }

  private async send(ids: string[]): Promise<Set<string>> {
    const { keys, replicas, timeoutMs, errors } = this.opts;
    const work = this.client.pipeline()
      .roomcastConfirm(keys.history, keys.marker, ...ids)
      .call('WAIT', replicas, timeoutMs)
      .exec();
    const replies = await errors.guard('replica-wait', work, { events: ids.length });
    const [checked, waited] = replies ?? [];
    if (!checked || !waited || checked[0] || waited[0]) {
      errors.record('replica-wait', checked?.[0] ?? waited?.[0] ?? new Error('no reply'), { events: ids.length });
      throw new HubError('unavailable', 'the shared store (Redis) is unreachable; retry with the same Idempotency-Key', undefined, REDIS_RETRY_AFTER_SEC);
    }
    const acked = Number(waited[1]);
    if (acked < replicas) {
      errors.record('replica-wait', new Error(`${acked} of ${replicas} replicas within ${timeoutMs} ms`), { events: ids.length });
      throw new HubError('unavailable', `the event reached ${acked} of ${replicas} Redis replicas in time; retry with the same Idempotency-Key`, undefined, REDIS_RETRY_AFTER_SEC);
    }
    return new Set(checked[1] as string[]);
  }
}

/** Running totals of one process, as `/stats` and `/metrics` report them. */
export interface DeliveryCounters {
  published: number;
  delivered: number;
  evicted: number;
  replayed: number;
}

/** The one owner of this process's delivery counters: everyone else counts through its methods. */
export class Counters {
  private readonly totals: DeliveryCounters = { published: 0, delivered: 0, evicted: 0, replayed: 0 };

  /** `n` events accepted into history through this process. */
  published(n: number): void {
    this.totals.published += n;
  }

  /** `n` deliveries of one event written to streams here. */
  delivered(n: number): void {
    this.totals.delivered += n;
  }

  /** One slow consumer closed. */
  evicted(): void {
    this.totals.evicted++;
  }

  /** One event replayed from history to a reconnecting stream. */
  replayed(): void {
    this.totals.replayed++;
  }

  /** A copy of the totals now. */
  snapshot(): DeliveryCounters {
    return { ...this.totals };
  }
}

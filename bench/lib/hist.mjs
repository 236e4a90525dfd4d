// Latency histogram in microseconds: 10 µs buckets below 1 ms, then 2 % wide log buckets up to
// ~100 s. Cheap to record into, mergeable by summing, percentiles within one bucket's width.

const LINEAR = 100;          // 0..999 µs in 10 µs steps
const RATIO = Math.log(1.02);
const LOG_BUCKETS = 600;     // 1 ms * 1.02^600 ≈ 145 s
export const NBUCKETS = LINEAR + LOG_BUCKETS + 1;

export function bucketOf(us) {
  if (!(us > 0)) return 0;
  if (us < 1000) return (us / 10) | 0;
  const b = LINEAR + Math.floor(Math.log(us / 1000) / RATIO);
  return b < NBUCKETS ? b : NBUCKETS - 1;
}

/** Representative value (µs) of a bucket: its midpoint. */
export function bucketValue(b) {
  if (b < LINEAR) return b * 10 + 5;
  const lo = 1000 * Math.exp((b - LINEAR) * RATIO);
  return lo * 1.01;
}

export class Hist {
  constructor() { this.counts = new Float64Array(NBUCKETS); this.n = 0; this.sum = 0; this.max = 0; this.min = Infinity; }
  record(us) {
    this.counts[bucketOf(us)]++;
    this.n++; this.sum += us;
    if (us > this.max) this.max = us;
    if (us < this.min) this.min = us;
  }
  toJSON() {
    // Sparse form for IPC: [bucket, count] pairs.
    const pairs = [];
    for (let i = 0; i < NBUCKETS; i++) if (this.counts[i] !== 0) pairs.push(i, this.counts[i]);
    return { pairs, n: this.n, sum: this.sum, max: this.max, min: this.n ? this.min : 0 };
  }
  static from(json) {
    const h = new Hist();
    if (!json) return h;
    for (let i = 0; i < json.pairs.length; i += 2) h.counts[json.pairs[i]] += json.pairs[i + 1];
    h.n = json.n; h.sum = json.sum; h.max = json.max; h.min = json.n ? json.min : Infinity;
    return h;
  }
  merge(other) {
    for (let i = 0; i < NBUCKETS; i++) this.counts[i] += other.counts[i];
    this.n += other.n; this.sum += other.sum;
    if (other.max > this.max) this.max = other.max;
    if (other.min < this.min) this.min = other.min;
    return this;
  }
  percentile(p) {
    if (this.n === 0) return null;
    const rank = Math.ceil((p / 100) * this.n);
    let acc = 0;
    for (let i = 0; i < NBUCKETS; i++) {
      acc += this.counts[i];
      if (acc >= rank) return Math.min(bucketValue(i), this.max);
    }
    return this.max;
  }
  /** Summary in milliseconds. */
  summary() {
    if (this.n === 0) return { n: 0, p50: null, p90: null, p99: null, max: null, mean: null };
    const ms = (v) => Math.round(v) / 1000;
    return { n: this.n, p50: ms(this.percentile(50)), p90: ms(this.percentile(90)), p99: ms(this.percentile(99)),
      max: ms(this.max), mean: ms(this.sum / this.n) };
  }
}

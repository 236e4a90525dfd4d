// Which sequence numbers a stream has received: a growable bitset (one bit per event of a phase),
// shared by the load clients for duplicate and completeness checks.

/** Sets bit `k` in `bits` (null: none yet), growing it as needed; returns the set and whether `k` was already there. */
export function markSeq(bits, k) {
  const byte = k >> 3;
  if (bits === null) bits = new Uint8Array(Math.max(64, byte + 1));
  else if (byte >= bits.length) {
    const nb = new Uint8Array(Math.max(bits.length * 2, byte + 1));
    nb.set(bits); bits = nb;
  }
  const mask = 1 << (k & 7);
  const seen = (bits[byte] & mask) !== 0;
  bits[byte] |= mask;
  return { bits, seen };
}

/** True when bit `k` is set. */
export function hasSeq(bits, k) {
  return bits !== null && (bits[k >> 3] & (1 << (k & 7))) !== 0;
}

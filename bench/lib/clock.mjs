// A clock shared by every process on the machine: CLOCK_MONOTONIC in microseconds (what
// process.hrtime reads), read cheaply through performance.now() plus a per-process offset.
const offsetUs = Number(process.hrtime.bigint() / 1000n) - performance.now() * 1000;
export function nowUs() { return performance.now() * 1000 + offsetUs; }

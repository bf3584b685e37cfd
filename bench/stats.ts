/** Small helpers every benchmark prints with: percentiles and a fixed-width line. */

export function percentile(sortedMs: number[], p: number): number {
  if (sortedMs.length === 0) return NaN;
  const i = Math.min(sortedMs.length - 1, Math.max(0, Math.ceil((p / 100) * sortedMs.length) - 1));
  return sortedMs[i]!;
}

/** Runs `op` `count` times with `concurrency` in flight; returns ops/s and latency percentiles in ms. */
export async function measure(op: () => Promise<unknown>, count: number, concurrency: number) {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        next++;
        const t0 = performance.now();
        await op();
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { perSecond: count / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99), count };
}

export function report(name: string, r: { perSecond: number; p50: number; p99: number; count: number }): void {
  console.log(`${name.padEnd(48)} ${r.perSecond.toFixed(0).padStart(8)} /s   p50 ${r.p50.toFixed(2).padStart(7)} ms   p99 ${r.p99.toFixed(2).padStart(7)} ms   (n=${r.count})`);
}

/**
 * Which of our WebAssembly helpers pay in slices on every thread, and from what size (not a test).
 * Builds the benchmark trainer on the WebAssembly backend and alternates training steps, one by one
 * in the same process, between two settings of the sizes from which helper calls run in slices
 * (./../src/worker/backends/wasm/simd/kernel-threads.ts, `minCallBytes` and `minComputeCallBytes`):
 * on a machine whose speed drifts (the build machine's by up to 2x within minutes), steps taken in
 * the same seconds compare better than runs of separate processes. Prints the mean step of each
 * setting, the pairs in which B was faster, and per helper its time per step under each setting, its
 * calls per step, how many of them run in slices under B, their sizes (the bytes its threshold is
 * compared with) and its time per MiB of those bytes on one thread. Results are the same bits under
 * either setting (each unit of a helper is computed on its own).
 *
 *   npx tsx bench/slice-helpers.bench.ts [--model dcgan|cwgan-gp] [--resolution 32] [--batch 16] \
 *     [--a 8192:8192] [--b 8192:1024] [--rounds 30] [--warmup 6] [--json]
 *
 * --a / --b: MEMORY_KIB:COMPUTE_KIB, the sizes in KiB from which the helpers not marked `compute`
 * and those marked `compute` (SLICED_HELPERS) run in slices; `0` slices every call that has at least
 * two slices' worth of units. Default A: both at 8 MiB (before 2026-11-28 evening); B: the defaults.
 */
import { arg, runBench, trainerFromArgs } from './support';
import { activeHeap } from '../src/worker/backends/wasm/heap';
import { SLICED_HELPERS, type SlicedHelper } from '../src/worker/backends/wasm/simd/kernel-threads';

interface HelperTimes {
  ms: [number, number];
  calls: [number, number];
  /** Calls under B that move at least B's threshold (sliced where there are workers). */
  slicedB: number;
  minBytes: number;
  maxBytes: number;
  /** One-thread calls under A (below A's threshold): ms and bytes, for the time per MiB. */
  aloneMs: number;
  aloneBytes: number;
}

function setting(name: 'a' | 'b', fallback: string): { memory: number; compute: number } {
  const text = arg(name, fallback);
  const m = /^(\d+):(\d+)$/.exec(text);
  if (!m) throw new Error(`--${name} is "${text}"; use MEMORY_KIB:COMPUTE_KIB, e.g. 8192:1024`);
  return { memory: Number(m[1]) * 1024, compute: Number(m[2]) * 1024 };
}

async function main(): Promise<void> {
  const { model, resolution, batch, backend, trainer } = await trainerFromArgs({ resolution: 32, batch: 16, backend: 'wasm', cwganClasses: 8 });
  const heap = activeHeap();
  if (!heap) throw new Error('this benchmark needs the WebAssembly backend (--backend wasm)');
  const pool = heap.kernels;
  const settings = [setting('a', '8192:8192'), setting('b', `${pool.minCallBytes / 1024}:${pool.minComputeCallBytes / 1024}`)];
  const rounds = Number(arg('rounds', '30'));
  const warmup = Number(arg('warmup', '6'));

  let current = 0;
  const times = new Map<SlicedHelper, HelperTimes>();
  const bySlices = pool.bySlices.bind(pool);
  // Wrap the pool's entry point for sliced helpers (every wrapper calls it): time each call, and note
  // its size as bySlices measures it.
  pool.bySlices = (helper, args, steps, align = 1, unitBytes = steps.reduce((a, b) => a + b, 0)) => {
    const { count, weight, compute } = SLICED_HELPERS[helper];
    const bytes = args[count]! * unitBytes * weight;
    let t = times.get(helper);
    if (!t) times.set(helper, (t = { ms: [0, 0], calls: [0, 0], slicedB: 0, minBytes: Infinity, maxBytes: 0, aloneMs: 0, aloneBytes: 0 }));
    const from = (s: { memory: number; compute: number }) => (compute ? s.compute : s.memory);
    const start = performance.now();
    bySlices(helper, args, steps, align, unitBytes);
    const ms = performance.now() - start;
    t.ms[current]! += ms;
    t.calls[current]!++;
    if (current === 1) {
      if (bytes >= from(settings[1]!)) t.slicedB++;
      t.minBytes = Math.min(t.minBytes, bytes);
      t.maxBytes = Math.max(t.maxBytes, bytes);
    } else if (bytes < from(settings[0]!)) {
      t.aloneMs += ms;
      t.aloneBytes += bytes;
    }
  };
  const use = (i: number) => {
    current = i;
    pool.minCallBytes = settings[i]!.memory;
    pool.minComputeCallBytes = settings[i]!.compute;
  };

  for (let i = 0; i < warmup; i++) {
    use(i % 2);
    await trainer.step({ forceRead: true });
  }
  times.clear();
  const steps: [number[], number[]] = [[], []];
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < 2; i++) {
      use(i);
      const start = performance.now();
      await trainer.step({ forceRead: true }); // as on the processor in training: losses every step
      steps[i]!.push(performance.now() - start);
    }
  }
  const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
  const fasterB = steps[1].filter((t, i) => t < steps[0][i]!).length;
  const helpers = [...times].sort((x, y) => y[1].ms[0] - x[1].ms[0]).map(([name, t]) => ({
    helper: name,
    msPerStepA: +(t.ms[0] / rounds).toFixed(3),
    msPerStepB: +(t.ms[1] / rounds).toFixed(3),
    callsPerStep: t.calls[1] / rounds,
    slicedPerStepB: t.slicedB / rounds,
    kib: t.maxBytes > 0 ? [Math.round(t.minBytes / 1024), Math.round(t.maxBytes / 1024)] : null,
    usPerMiBAlone: t.aloneBytes > 0 ? +((1000 * t.aloneMs) / (t.aloneBytes / 2 ** 20)).toFixed(1) : null,
  }));
  const kib = (s: { memory: number; compute: number }) => `${s.memory / 1024}:${s.compute / 1024}`;
  const result = {
    bench: 'slice-helpers', device: backend.device, threads: pool.workerCount + 1, model, resolution, batch, rounds,
    a: kib(settings[0]!), b: kib(settings[1]!), msPerStepA: +mean(steps[0]).toFixed(2), msPerStepB: +mean(steps[1]).toFixed(2),
    bFasterInPairs: `${fasterB}/${rounds}`, helpers, date: new Date().toISOString(),
  };
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify(result));
    return;
  }
  console.log(`${backend.device}; ${model} ${resolution} px, batch ${batch}; ${rounds} alternated steps each`);
  console.log(`A ${result.a} KiB: ${result.msPerStepA} ms/step; B ${result.b} KiB: ${result.msPerStepB} ms/step; B faster in ${result.bFasterInPairs} pairs`);
  for (const h of helpers) {
    const size = h.kib ? `${h.kib[0]}-${h.kib[1]} KiB` : '-';
    const perMiB = h.usPerMiBAlone === null ? '' : `, ${h.usPerMiBAlone} us/MiB alone`;
    console.log(`  ${h.helper.padEnd(16)} A ${h.msPerStepA.toFixed(2)} ms, B ${h.msPerStepB.toFixed(2)} ms a step; ${h.callsPerStep} calls (${h.slicedPerStepB} sliced under B), ${size}${perMiB}`);
  }
}

runBench(main);

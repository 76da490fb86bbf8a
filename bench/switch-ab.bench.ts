/**
 * Whole training steps under two values of one GAN_AUGMENT_* switch that the kernels read at every
 * call (not a test): builds the benchmark trainer (bench/support.ts) and alternates steps one by one
 * in the same process, A then B, then B then A, so that on a machine whose speed drifts (the build
 * machine's by up to 2x within minutes) steps taken in the same seconds are compared. Prints one JSON
 * line: each value's mean and median ms a step, and the pairs in which B was faster.
 *
 *   npx tsx bench/switch-ab.bench.ts --switch GAN_AUGMENT_WASM_WINOGRAD_SCATTER [--a off] [--b on] \
 *     [--model dcgan|cwgan-gp] [--resolution 32] [--batch 16] [--backend wasm] [--rounds 20] [--warmup 4]
 *
 * Only switches read at call time mean anything here (GAN_AUGMENT_WASM_WINOGRAD,
 * GAN_AUGMENT_WASM_WINOGRAD_SCATTER), or that the kernel threads' pool reads again when told
 * (`applyEnvironment`: GAN_AUGMENT_WASM_SPIN_US, with numbers: --a 0 --b 200); the thread counts and
 * FMA are read once, at the backend's start.
 */
import { arg, runBench, trainerFromArgs } from './support';
import { currentKernelThreads } from '../src/worker/backends/wasm/simd/kernel-threads';

async function main(): Promise<void> {
  const name = arg('switch', '');
  if (!/^GAN_AUGMENT_[A-Z0-9_]+$/.test(name)) throw new Error('--switch must name a GAN_AUGMENT_* variable, e.g. GAN_AUGMENT_WASM_WINOGRAD_SCATTER');
  const values = { a: arg('a', 'off'), b: arg('b', 'on') };
  const rounds = Number(arg('rounds', '20'));
  const warmup = Number(arg('warmup', '4'));
  const { model, resolution, batch, backend, trainer } = await trainerFromArgs({ resolution: 32, batch: 16, backend: 'wasm', cwganClasses: 8 });
  const saved = process.env[name];
  const step = async (value: string): Promise<number> => {
    process.env[name] = value;
    currentKernelThreads()?.applyEnvironment(); // the settings the pool keeps (GAN_AUGMENT_WASM_SPIN_US)
    const t0 = performance.now();
    await trainer.step({ forceRead: true });
    return performance.now() - t0;
  };
  try {
    for (let i = 0; i < warmup; i++) await step(i % 2 === 0 ? values.a : values.b);
    const ms = { a: [] as number[], b: [] as number[] };
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? (['a', 'b'] as const) : (['b', 'a'] as const);
      for (const which of order) ms[which].push(await step(values[which]));
    }
    const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
    const median = (v: number[]) => [...v].sort((p, q) => p - q)[v.length >> 1]!;
    const r2 = (v: number) => Math.round(v * 100) / 100;
    console.log(JSON.stringify({
      bench: 'switch-ab', switch: name, a: values.a, b: values.b, model, resolution, batch, device: backend.device, rounds,
      meanMs: { a: r2(mean(ms.a)), b: r2(mean(ms.b)) }, medianMs: { a: r2(median(ms.a)), b: r2(median(ms.b)) },
      bFasterPairs: ms.a.filter((a, i) => ms.b[i]! < a).length, date: new Date().toISOString(),
    }));
  } finally {
    if (saved === undefined) delete process.env[name];
    else process.env[name] = saved;
    trainer.dispose();
  }
}

runBench(main);

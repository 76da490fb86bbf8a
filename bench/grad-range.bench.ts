/**
 * What range the values a training step's convolutions read span (not a test): whether half
 * precision (f16, what issue 5's `shader-f16` path would store tiles in) can hold them. Trains
 * --steps steps and, for every convolution pass of the last --record of them, reads its operands
 * (the forward pass's x and filter, the gradients' dy) and counts the nonzero values that f16 would
 * keep only as subnormals (|v| < 6.10e-5, fewer than 11 bits of precision) or lose to zero
 * (|v| < 2.98e-8, half the smallest subnormal); one JSON line per pass and operand, worst layer first.
 *
 *   npx tsx bench/grad-range.bench.ts --model dcgan|cwgan-gp --resolution 64 --batch 16 [--backend wasm] [--steps 30] [--record 5]
 *
 * Runs on any backend whose tensors it can read synchronously (wasm, cpu): the values do not depend
 * on the backend beyond rounding.
 */
import { arg, runBench, trainerFromArgs } from './support';
import { tf } from '../src/worker/backends/tf';

/** f16's smallest normal value, and half its smallest subnormal (below that a value rounds to zero). */
const F16_MIN_NORMAL = 2 ** -14;
const F16_ZERO_BELOW = 2 ** -25;

interface Tally {
  pass: string;
  operand: string;
  shape: number[];
  values: number;
  nonzero: number;
  subnormal: number;
  zeroInF16: number;
  maxAbs: number;
  /** Median of the nonzero magnitudes, over the recorded calls' medians. */
  medianAbs: number[];
}

async function main(): Promise<void> {
  const { model, resolution, batch, backend, trainer } = await trainerFromArgs({ resolution: 64, batch: 16, backend: 'wasm', cwganClasses: 8 });
  const steps = Number(arg('steps', '30'));
  const record = Math.min(steps, Number(arg('record', '5')));
  const tallies = new Map<string, Tally>();
  let recording = false;
  // Convolutions that a kernel runs inside its own (another method's pieces) are not the step's.
  let depth = 0;

  const count = (pass: string, operand: string, t: tf.TensorInfo): void => {
    const values = tf.backend().readSync(t.dataId) as Float32Array;
    const key = `${pass} ${operand} ${t.shape.join('x')}`;
    const tally = tallies.get(key) ?? { pass, operand, shape: [...t.shape], values: 0, nonzero: 0, subnormal: 0, zeroInF16: 0, maxAbs: 0, medianAbs: [] };
    const mags: number[] = [];
    for (const v of values) {
      const a = Math.abs(v);
      if (a === 0) continue;
      mags.push(a);
      if (a < F16_MIN_NORMAL) tally.subnormal++;
      if (a < F16_ZERO_BELOW) tally.zeroInF16++;
      if (a > tally.maxAbs) tally.maxAbs = a;
    }
    mags.sort((a, b) => a - b);
    tally.values += values.length;
    tally.nonzero += mags.length;
    if (mags.length) tally.medianAbs.push(mags[mags.length >> 1]!);
    tallies.set(key, tally);
  };

  // Wrap the backend's three convolution kernels: count their operands, then run them as before.
  const name = tf.getBackend();
  const passes: Array<[string, string[]]> = [
    ['Conv2D', ['x', 'filter']],
    ['FusedConv2D', ['x', 'filter']],
    ['Conv2DBackpropFilter', ['dy']],
    ['Conv2DBackpropInput', ['dy', 'filter']],
  ];
  const restore: tf.KernelConfig[] = [];
  for (const [kernelName, operands] of passes) {
    const config = tf.getKernel(kernelName, name);
    if (!config) continue;
    restore.push(config);
    tf.unregisterKernel(kernelName, name);
    tf.registerKernel({
      ...config,
      kernelFunc: (args) => {
        if (recording && depth === 0) for (const o of operands) if (args.inputs[o]) count(kernelName, o, args.inputs[o]!);
        depth++;
        try {
          return config.kernelFunc(args);
        } finally {
          depth--;
        }
      },
    });
  }
  try {
    for (let i = 0; i < steps; i++) {
      recording = i >= steps - record;
      await trainer.step({ forceRead: true });
    }
  } finally {
    for (const config of restore) {
      tf.unregisterKernel(config.kernelName, name);
      tf.registerKernel(config);
    }
  }
  const rows = [...tallies.values()].map((t) => ({
    bench: 'grad-range',
    model,
    resolution,
    batch,
    device: backend.device,
    steps,
    recordedSteps: record,
    pass: t.pass,
    operand: t.operand,
    shape: t.shape,
    nonzeroShare: t.nonzero / t.values,
    subnormalInF16: t.subnormal / Math.max(1, t.nonzero),
    zeroInF16: t.zeroInF16 / Math.max(1, t.nonzero),
    maxAbs: t.maxAbs,
    medianAbs: t.medianAbs.sort((a, b) => a - b)[t.medianAbs.length >> 1] ?? 0,
  }));
  rows.sort((a, b) => b.subnormalInF16 - a.subnormalInF16);
  for (const r of rows) console.log(JSON.stringify(r));
}

runBench(main);

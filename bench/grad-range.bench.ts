/**
 * What range the values a training step's convolutions read span (not a test): whether half
 * precision (f16, what issue 5's `shader-f16` path would store tiles in) can hold them. Trains
 * --steps steps and, for every convolution call of the last --record of them (the n-th call of a step
 * is the same pass of the same layer in every step), reads its operands (x, filter, dy) and counts the
 * nonzero values that f16 would keep only as subnormals (|v| < 6.10e-5, fewer than 11 bits of
 * precision) or lose to zero (|v| < 2.98e-8, half the smallest subnormal); one JSON line per call, in
 * the step's order.
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
  values: number;
  nonzero: number;
  subnormal: number;
  zeroInF16: number;
  maxAbs: number;
  /** Median of the nonzero magnitudes, per recorded step. */
  medianAbs: number[];
}

/** One convolution call of a step (the n-th, the same in every step), its operands' tallies. */
interface Call {
  index: number;
  pass: string;
  operands: Map<string, { shape: number[]; tally: Tally }>;
}

async function main(): Promise<void> {
  const { model, resolution, batch, backend, trainer } = await trainerFromArgs({ resolution: 64, batch: 16, backend: 'wasm', cwganClasses: 8 });
  const steps = Number(arg('steps', '30'));
  const record = Math.min(steps, Number(arg('record', '5')));
  const calls: Call[] = [];
  let recording = false;
  let callIndex = 0;
  // Convolutions that a kernel runs inside its own (another method's pieces) are not the step's.
  let depth = 0;

  const count = (tally: Tally, t: tf.TensorInfo): void => {
    const values = tf.backend().readSync(t.dataId) as Float32Array;
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
  };

  const recordCall = (pass: string, inputs: Record<string, tf.TensorInfo | undefined>): void => {
    const index = callIndex++;
    const call = calls[index] ?? { index, pass, operands: new Map() };
    if (call.pass !== pass) throw new Error(`call ${index} was ${call.pass} in an earlier step and is ${pass} now`);
    calls[index] = call;
    for (const [name, t] of Object.entries(inputs)) {
      if (!t || t.shape.length !== 4) continue; // a bias
      const operand = call.operands.get(name) ?? { shape: [...t.shape], tally: { values: 0, nonzero: 0, subnormal: 0, zeroInF16: 0, maxAbs: 0, medianAbs: [] } };
      count(operand.tally, t);
      call.operands.set(name, operand);
    }
  };

  // Wrap the backend's convolution kernels: count their operands, then run them as before.
  const name = tf.getBackend();
  const passes = ['Conv2D', 'FusedConv2D', 'Conv2DBackpropFilter', 'Conv2DBackpropInput'];
  const restore: tf.KernelConfig[] = [];
  for (const kernelName of passes) {
    const config = tf.getKernel(kernelName, name);
    if (!config) continue;
    restore.push(config);
    tf.unregisterKernel(kernelName, name);
    tf.registerKernel({
      ...config,
      kernelFunc: (args) => {
        if (recording && depth === 0) recordCall(kernelName, args.inputs as Record<string, tf.TensorInfo | undefined>);
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
      callIndex = 0;
      await trainer.step({ forceRead: true });
    }
  } finally {
    for (const config of restore) {
      tf.unregisterKernel(config.kernelName, name);
      tf.registerKernel(config);
    }
  }
  const share = (n: number, of: number) => Math.round((1e5 * n) / Math.max(1, of)) / 1e5;
  for (const call of calls) {
    const operands = Object.fromEntries(
      [...call.operands].map(([operand, { shape, tally: t }]) => [
        operand,
        {
          shape,
          nonzeroShare: share(t.nonzero, t.values),
          subnormalInF16: share(t.subnormal, t.nonzero),
          zeroInF16: share(t.zeroInF16, t.nonzero),
          maxAbs: t.maxAbs,
          medianAbs: t.medianAbs.sort((a, b) => a - b)[t.medianAbs.length >> 1] ?? 0,
        },
      ]),
    );
    console.log(JSON.stringify({ bench: 'grad-range', model, resolution, batch, device: backend.device, steps, recordedSteps: record, call: call.index, pass: call.pass, operands }));
  }
}

runBench(main);

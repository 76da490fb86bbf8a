/** What the benchmarks share (not shipped code): flags, the exit convention, a benchmark trainer. */
import { makeConfig, type ModelFamily, type Resolution } from '../src/worker/models/config';
import { initBackend, type BackendChoice, type BackendInfo } from '../src/worker/backends';
import { createTrainer, type Trainer } from '../src/worker/training/trainer';
import { datasetFromPixels } from '../src/worker/training/dataset';
import { Prng } from '../src/worker/training/rng';

/** `--name value` from the command line, or the fallback (a following `--flag` is not a value). */
export function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0 && i + 1 < process.argv.length && !process.argv[i + 1]!.startsWith('--')) return process.argv[i + 1]!;
  return fallback;
}

/** Runs a benchmark's main and exits (0, or 1 with the error), so that no device handle keeps Node alive. */
export function runBench(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(e instanceof Error ? e.stack : e);
      process.exit(1);
    },
  );
}

/**
 * The app's trainer (`default` preset: the architecture of ../shared/bench/README.md) on random
 * uint8 images, one batch worth (like the PyTorch reference's fixed random batch), uploaded each step
 * as in real training. Losses are read only when asked (forceRead): no per-step sync.
 */
export function benchTrainer(model: ModelFamily, resolution: Resolution, batch: number, classes: number): Trainer {
  if (!['dcgan', 'cwgan-gp'].includes(model)) throw new Error('--model must be dcgan or cwgan-gp');
  if (![32, 64, 128].includes(resolution)) throw new Error('--resolution must be 32, 64 or 128');
  const config = makeConfig(model, resolution, { preset: 'default', batchSize: batch, numClasses: classes });
  const rng = new Prng(1);
  const n = Math.max(batch, classes);
  const ds = datasetFromPixels(
    Uint8Array.from({ length: n * resolution * resolution * 3 }, () => rng.int(256)),
    Int32Array.from({ length: n }, (_, i) => i % classes),
    resolution,
    3,
  );
  return createTrainer(config, ds, { seed: 1, readLossEvery: Number.MAX_SAFE_INTEGER });
}

/* The DCGAN critics' convolution layers, for the kernel benchmarks. */

export interface ConvLayer {
  name: string;
  /** [H, W, CI] of the conv input. */
  input: [number, number, number];
  co: number;
  k: number;
  stride: number;
}

/** DCGAN-32 (default preset): the critic's three k4 s2 'same' convolutions. */
export const LAYERS_32: ConvLayer[] = [
  { name: 'D1 32x32x3->16x16x64 (= G3)', input: [32, 32, 3], co: 64, k: 4, stride: 2 },
  { name: 'D2 16x16x64->8x8x128 (= G2)', input: [16, 16, 64], co: 128, k: 4, stride: 2 },
  { name: 'D3 8x8x128->4x4x256 (= G1)', input: [8, 8, 128], co: 256, k: 4, stride: 2 },
];

/** DCGAN-64 (default preset): the critic's four k4 s2 'same' convolutions (D2 is issue 5's layer). */
export const LAYERS_64: ConvLayer[] = [
  { name: 'D1 64x64x3->32x32x64 (= G4)', input: [64, 64, 3], co: 64, k: 4, stride: 2 },
  { name: 'D2 32x32x64->16x16x128 (= G3)', input: [32, 32, 64], co: 128, k: 4, stride: 2 },
  { name: 'D3 16x16x128->8x8x256 (= G2)', input: [16, 16, 128], co: 256, k: 4, stride: 2 },
  { name: 'D4 8x8x256->4x4x512 (= G1)', input: [8, 8, 256], co: 512, k: 4, stride: 2 },
];

/** The useful floating-point operations of one pass of `layer` ('same' padding), 2 * multiply-adds. */
export function convLayerFlop(layer: ConvLayer, batch: number): number {
  const [h, w, ci] = layer.input;
  return 2 * batch * Math.ceil(h / layer.stride) * Math.ceil(w / layer.stride) * layer.co * layer.k * layer.k * ci;
}

/**
 * The training benchmarks' common flags (--model, --resolution, --batch, --classes for the cWGAN-GP,
 * --backend) with each benchmark's defaults; starts the backend and builds benchTrainer.
 */
export async function trainerFromArgs(defaults: { resolution: Resolution; batch: number; backend: BackendChoice; cwganClasses: number }) {
  const model = arg('model', 'dcgan') as ModelFamily;
  const resolution = Number(arg('resolution', String(defaults.resolution))) as Resolution;
  const batch = Number(arg('batch', String(defaults.batch)));
  const classes = Number(arg('classes', model === 'cwgan-gp' ? String(defaults.cwganClasses) : '1'));
  const backend: BackendInfo = await initBackend(arg('backend', defaults.backend) as BackendChoice);
  return { model, resolution, batch, classes, backend, trainer: benchTrainer(model, resolution, batch, classes) };
}

/**
 * Training-step benchmark (not a test). Builds the DCGAN of ../shared/bench/README.md (the
 * `default` preset: same architecture as torch_dcgan.py) or the conditional WGAN-GP, times warm
 * steps (warm-up excluded; the last timed step reads its losses back, which waits for the device),
 * and prints one JSON line.
 *
 *   npx tsx bench/train.bench.ts --model dcgan|cwgan-gp --resolution 32|64|128 --batch B \
 *     --backend webgpu|tensorflow|cpu|auto [--steps N] [--warmup N] [--classes K] [--json]
 *
 * Data: random uint8 images (one batch worth, like the PyTorch reference's fixed random batch),
 * uploaded each step as the trainer does with real data.
 */
import { initBackend, type BackendChoice } from '../src/worker/backends';
import { tf } from '../src/worker/backends/tf';
import { makeConfig, type ModelFamily, type Resolution } from '../src/worker/models/config';
import { createTrainer } from '../src/worker/training/trainer';
import { datasetFromPixels } from '../src/worker/training/dataset';
import { Prng } from '../src/worker/training/rng';

function arg(name: string, fallback?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0 && i + 1 < process.argv.length && !process.argv[i + 1]!.startsWith('--')) return process.argv[i + 1];
  return fallback;
}

async function main(): Promise<void> {
  const model = (arg('model', 'dcgan') as ModelFamily);
  const resolution = Number(arg('resolution', '32')) as Resolution;
  const batch = Number(arg('batch', '16'));
  const backendChoice = arg('backend', 'auto') as BackendChoice;
  const steps = Number(arg('steps', '10'));
  const warmup = Number(arg('warmup', '2'));
  const classes = Number(arg('classes', model === 'cwgan-gp' ? '2' : '1'));
  const json = process.argv.includes('--json');
  if (!['dcgan', 'cwgan-gp'].includes(model)) throw new Error('--model must be dcgan or cwgan-gp');
  if (![32, 64, 128].includes(resolution)) throw new Error('--resolution must be 32, 64 or 128');

  const backend = await initBackend(backendChoice);
  const config = makeConfig(model, resolution, { preset: 'default', batchSize: batch, numClasses: classes });
  const rng = new Prng(1);
  const n = Math.max(batch, classes);
  const ds = datasetFromPixels(
    Uint8Array.from({ length: n * resolution * resolution * 3 }, () => rng.int(256)),
    Int32Array.from({ length: n }, (_, i) => i % classes),
    resolution,
    3,
  );
  // Losses are read only when asked (forceRead): no per-step GPU->CPU sync inside the timed loop.
  const trainer = createTrainer(config, ds, { seed: 1, readLossEvery: Number.MAX_SAFE_INTEGER });
  const log = (msg: string) => {
    if (!json) console.error(msg);
  };
  for (let i = 0; i < warmup; i++) {
    const m = await trainer.step({ forceRead: true });
    log(`warm-up step ${i + 1}: ${m.stepMs.toFixed(0)} ms`);
  }
  const t0 = performance.now();
  let last = null;
  for (let i = 0; i < steps; i++) last = await trainer.step({ forceRead: i === steps - 1 });
  const ms = (performance.now() - t0) / steps;
  const result = {
    bench: 'train',
    backend: backend.name,
    device: backend.device,
    model,
    resolution,
    batch,
    steps,
    warmup,
    nCritic: model === 'cwgan-gp' ? config.nCritic : undefined,
    msPerStep: Math.round(ms * 100) / 100,
    imagesPerSec: Math.round(((batch * 1000) / ms) * 10) / 10,
    lastLosses: { d: last?.dLoss, g: last?.gLoss },
    tfjs: tf.version_core,
    node: process.version,
    date: new Date().toISOString(),
  };
  console.log(JSON.stringify(result));
  trainer.dispose();
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  },
);

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
import { arg, benchTrainer, runBench } from './support';
import { initBackend, type BackendChoice } from '../src/worker/backends';
import { tf } from '../src/worker/backends/tf';
import type { ModelFamily, Resolution } from '../src/worker/models/config';

async function main(): Promise<void> {
  const model = (arg('model', 'dcgan') as ModelFamily);
  const resolution = Number(arg('resolution', '32')) as Resolution;
  const batch = Number(arg('batch', '16'));
  const backendChoice = arg('backend', 'auto') as BackendChoice;
  const steps = Number(arg('steps', '10'));
  const warmup = Number(arg('warmup', '2'));
  const classes = Number(arg('classes', model === 'cwgan-gp' ? '2' : '1'));
  const json = process.argv.includes('--json');

  const backend = await initBackend(backendChoice);
  const trainer = benchTrainer(model, resolution, batch, classes);
  const config = trainer.config;
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

runBench(main);

/**
 * Training-step benchmark (not a test). Builds the DCGAN of ../shared/bench/README.md (the
 * `default` preset: same architecture as torch_dcgan.py) or the conditional WGAN-GP, times warm
 * steps (warm-up excluded) and prints one JSON line.
 *
 *   npx tsx bench/train.bench.ts --model dcgan|cwgan-gp --resolution 32|64|128 --batch B \
 *     --backend webgpu|tensorflow|cpu|auto [--steps N] [--warmup N] [--classes K] [--read-every N] [--json]
 *
 * The timed steps read their losses back (which waits for the device) as the app's training does
 * (`readLossEveryOn`: every 4th step on a GPU, every step on the processor), and the last one always.
 * --read-every N reads every Nth step instead; 0 only the last (the figures before 2026-11-28 06:30
 * UTC, which let a GPU run ahead for the whole timed loop). PyTorch's reference reads every step
 * (`.item()`): --read-every 1 is its cadence.
 *
 * Data: random uint8 images (one batch worth, like the PyTorch reference's fixed random batch),
 * uploaded each step as the trainer does with real data.
 */
import { arg, runBench, trainerFromArgs } from './support';
import { fastDispatchStats } from '../src/worker/backends';
import { movingAverageInPlaceStats } from '../src/worker/backends/kernels/batchnorm-kernels';
import { currentKernelThreads } from '../src/worker/backends/wasm/simd/kernel-threads';
import { tf } from '../src/worker/backends/tf';
import { lazyGradientsOn } from '../src/worker/backends/gradients';
import { readLossEveryOn } from '../src/worker/training';

async function main(): Promise<void> {
  const { model, resolution, batch, backend, trainer } = await trainerFromArgs({ resolution: 32, batch: 16, backend: 'auto', cwganClasses: 2 });
  const steps = Number(arg('steps', '10'));
  const warmup = Number(arg('warmup', '2'));
  const json = process.argv.includes('--json');
  const readEvery = Number(arg('read-every', String(readLossEveryOn(backend))));
  if (!Number.isInteger(readEvery) || readEvery < 0) throw new Error('--read-every must be a whole number, 0 or more');

  const config = trainer.config;
  const log = (msg: string) => {
    if (!json) console.error(msg);
  };
  // Warm-up as in training (no read-back but every 4th step and the last, which drains the queue):
  // the WebGPU dispatch cache settles on the buffers a step reuses within about 20 such steps.
  for (let i = 0; i < warmup; i++) {
    const m = await trainer.step({ forceRead: i % 4 === 3 || i === warmup - 1 });
    log(`warm-up step ${i + 1}: ${m.stepMs.toFixed(0)} ms`);
  }
  const before = { ...(fastDispatchStats() ?? {}) };
  const threadsBefore = { ...(currentKernelThreads()?.stats ?? { jobs: 0, ms: 0 }) };
  const adamBefore = trainer.adamStats();
  const movingBefore = movingAverageInPlaceStats();
  const t0 = performance.now();
  let last = null;
  for (let i = 0; i < steps; i++) {
    last = await trainer.step({ forceRead: i === steps - 1 || (readEvery > 0 && (i + 1) % readEvery === 0) });
  }
  const ms = (performance.now() - t0) / steps;
  const after = fastDispatchStats();
  // WebAssembly: per timed step, the jobs our kernels ran on every thread and the calling thread's time
  // in them; the rest of a step (ms/step minus inThreadsMs) runs on one thread whatever the count.
  const pool = currentKernelThreads();
  const kernelThreads = pool
    ? {
        threads: pool.workerCount + 1,
        jobsPerStep: Math.round((pool.stats.jobs - threadsBefore.jobs) / steps),
        inThreadsMs: Math.round(((pool.stats.ms - threadsBefore.ms) / steps) * 100) / 100,
      }
    : null;
  // Per timed step: dispatches through the cached path and bind groups it had to create; in-place
  // updates are dispatches of their own (GAN_AUGMENT_IN_PLACE): Adam's one per variable and one for its
  // beta powers per update, batch norm's moving averages one per layer and training pass.
  const adamAfter = trainer.adamStats();
  const movingAfter = movingAverageInPlaceStats();
  const dispatchCache = after
    ? {
        dispatchesPerStep: Math.round((after.dispatches - (before.dispatches ?? 0)) / steps),
        bindGroupsCreatedPerStep: Math.round((after.bindGroupsCreated - (before.bindGroupsCreated ?? 0)) / steps),
        adamInPlacePerStep: Math.round((adamAfter.updatesInPlace - adamBefore.updatesInPlace) / steps),
        movingAveragesInPlacePerStep: Math.round((movingAfter.inPlace - movingBefore.inPlace) / steps),
      }
    : null;
  // The processor's time in both optimizers' applyGradients per timed step (on WebGPU: recording the updates).
  const adamApplyMsPerStep = Math.round(((adamAfter.applyMs - adamBefore.applyMs) / steps) * 100) / 100;
  const result = {
    bench: 'train',
    backend: backend.name,
    device: backend.device,
    model,
    resolution,
    batch,
    steps,
    warmup,
    readEvery,
    nCritic: model === 'cwgan-gp' ? config.nCritic : undefined,
    msPerStep: Math.round(ms * 100) / 100,
    imagesPerSec: Math.round(((batch * 1000) / ms) * 10) / 10,
    lastLosses: { d: last?.dLoss, g: last?.gLoss },
    dispatchCache,
    adamApplyMsPerStep,
    kernelThreads,
    // Whether ./src/worker/backends/gradients.ts is on (GAN_AUGMENT_LAZY_GRADIENTS=0 turns it off).
    lazyGradients: lazyGradientsOn(),
    tfjs: tf.version_core,
    node: process.version,
    date: new Date().toISOString(),
  };
  console.log(JSON.stringify(result));
  trainer.dispose();
}

runBench(main);

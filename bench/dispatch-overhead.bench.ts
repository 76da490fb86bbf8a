/**
 * What one tfjs op costs on the CPU side of a backend (not a test): chains of element-wise ops on
 * tiny tensors (launch cost only) and on a DCGAN-64-sized activation (launch + memory), the upload of
 * a training batch, and one fused-Adam update of a DCGAN-64's variables. One JSON line.
 *
 *   npx tsx bench/dispatch-overhead.bench.ts [--backend webgpu] [--ops 2000]
 */
import { arg, runBench } from './support';
import { initBackend, type BackendChoice } from '../src/worker/backends';
import { tf } from '../src/worker/backends/tf';
import { createAdam } from '../src/worker/backends/kernels/adam';
import { makeConfig } from '../src/worker/models/config';
import { buildDcganDiscriminator, buildDcganGenerator } from '../src/worker/models/networks';
import { batchImages, datasetFromPixels } from '../src/worker/training/dataset';

/** ms per op of `n` chained adds (each consumes the previous result), one read-back at the end. */
async function chain(shape: number[], n: number): Promise<number> {
  const x = tf.ones(shape);
  let y = tf.zeros(shape);
  await y.data();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const next = tf.add(y, x);
    y.dispose();
    y = next;
  }
  await y.data();
  const ms = (performance.now() - t0) / n;
  tf.dispose([x, y]);
  return ms;
}

async function main(): Promise<void> {
  const backend = await initBackend(arg('backend', 'webgpu') as BackendChoice);
  const n = Number(arg('ops', '2000'));
  const r3 = (v: number) => Math.round(v * 1000) / 1000;
  await chain([16], 50); // warm-up: pipelines compiled
  const tinyMs = await chain([16], n);
  await chain([256, 32, 32, 64], 5);
  const bigMs = await chain([256, 32, 32, 64], Math.max(20, Math.floor(n / 20)));

  // A training batch: uint8 -> float32 on the CPU, upload, first use.
  const ds = datasetFromPixels(new Uint8Array(256 * 64 * 64 * 3).fill(9), new Int32Array(256), 64, 3);
  const idx = Int32Array.from({ length: 256 }, (_, i) => i);
  let batchMs = Infinity;
  let uploadMs = Infinity;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    const b = batchImages(ds, idx);
    const t1 = performance.now();
    const s = tf.sum(b);
    await s.data();
    batchMs = Math.min(batchMs, t1 - t0);
    uploadMs = Math.min(uploadMs, performance.now() - t1);
    tf.dispose([b, s]);
  }

  // One Adam update of a DCGAN-64's G and D variables (fused on WebGPU).
  const config = makeConfig('dcgan', 64, { preset: 'default', batchSize: 64 });
  const g = buildDcganGenerator(config, 1);
  const d = buildDcganDiscriminator(config, 2);
  const vars = [...g.trainableWeights, ...d.trainableWeights].map((w) => w.read() as tf.Variable);
  const opt = createAdam(2e-4, 0.5, 0.999);
  const grads: tf.NamedTensorMap = {};
  for (const v of vars) grads[v.name] = tf.onesLike(v);
  opt.applyGradients(grads);
  await vars[0]!.data();
  const t0 = performance.now();
  for (let i = 0; i < 10; i++) opt.applyGradients(grads);
  await vars[vars.length - 1]!.data();
  const adamMs = (performance.now() - t0) / 10;

  console.log(
    JSON.stringify({
      bench: 'dispatch-overhead',
      device: backend.device,
      tinyAddMsPerOp: r3(tinyMs),
      bigAddMsPerOp: r3(bigMs),
      bigAddGBps: Math.round((3 * 256 * 32 * 32 * 64 * 4) / (bigMs * 1e6)),
      batch256x64pxPrepareMs: r3(batchMs),
      batch256x64pxUploadAndSumMs: r3(uploadMs),
      adamVariables: vars.length,
      adamUpdateMs: r3(adamMs),
      adamFused: opt.lastStepFused,
      date: new Date().toISOString(),
    }),
  );
  g.dispose();
  d.dispose();
}

runBench(main);

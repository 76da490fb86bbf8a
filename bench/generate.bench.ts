/**
 * Generation speed (not a test): a freshly built generator (the same as bench/train.bench.ts's)
 * makes --count images of one class as the app does (Trainer.generate: inference-mode forward
 * passes of --batch latents, then PNG encoding), after --warmup batches. Prints one JSON line: ms
 * per image and images per second for the whole call, and the forward pass alone (ms per batch,
 * best of the timed batches).
 *
 *   npx tsx bench/generate.bench.ts [--model dcgan|cwgan-gp] [--resolution 64] [--batch 32]
 *     [--count 256] [--warmup 2] [--backend wasm] [--classes 8]
 */
import { arg, runBench, trainerFromArgs } from './support';
import { tf } from '../src/worker/backends/tf';

async function main(): Promise<void> {
  const { model, resolution, batch, backend, trainer } = await trainerFromArgs({ resolution: 64, batch: 32, backend: 'wasm', cwganClasses: 8 });
  const count = Number(arg('count', '256'));
  const warmup = Number(arg('warmup', '2'));
  await trainer.generate(0, warmup * batch, 7, { batchSize: batch });

  const t0 = performance.now();
  const images = await trainer.generate(0, count, 11, { batchSize: batch });
  const ms = performance.now() - t0;

  // The forward pass alone (inference mode, as generate runs it), read back so that the device finishes.
  const z = tf.randomNormal([batch, trainer.config.latentDim], 0, 1, 'float32', 3) as tf.Tensor2D;
  const labels = tf.zeros([batch, 1], 'int32');
  let forwardMs = Infinity;
  for (let i = 0; i < Math.max(3, Math.ceil(count / batch)); i++) {
    const f0 = performance.now();
    const out = trainer.generator.predict(model === 'dcgan' ? z : [z, labels]) as tf.Tensor;
    await out.data();
    forwardMs = Math.min(forwardMs, performance.now() - f0);
    out.dispose();
  }
  tf.dispose([z, labels]);
  const r2 = (v: number) => Math.round(v * 100) / 100;
  console.log(
    JSON.stringify({
      bench: 'generate',
      model,
      resolution,
      batch,
      count: images.length,
      device: backend.device,
      msPerImage: r2(ms / images.length),
      imgsPerSec: r2((images.length * 1000) / ms),
      forwardMsPerBatch: r2(forwardMs),
      date: new Date().toISOString(),
    }),
  );
  trainer.dispose();
}

runBench(main);

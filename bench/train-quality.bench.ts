/**
 * Does our trainer learn as PyTorch's does? (not a test). Issue 5 made training fast with kernels of
 * our own (Winograd's transforms, fused multiply-adds, sums in slices); each is tested against a
 * reference within a tolerance, but a person cares whether the GAN still learns. This trains the
 * DCGAN or the conditional WGAN-GP (the `default` preset, the app's trainer on the chosen backend)
 * and the same network in PyTorch (bench/torch_quality.py: the same initialisation, optimiser and
 * step) on the same images, and compares what they generate, step for step, with images neither saw:
 *
 *   npx tsx bench/train-quality.bench.ts [--model dcgan|cwgan-gp] [--resolution 32] [--batch 32] \
 *     [--steps 1500] [--every 250] [--seeds 1,2] [--images 4096] [--samples 1024] [--backend auto] \
 *     [--python python3] [--torch-threads N] [--no-torch] [--out DIR] [--json]
 *
 * The images: a synthetic set shaped like dermoscopy (./quality.ts `lesionImages`): a skin-toned
 * background, a brown ellipse of random size, shape, angle and place with a darker core, a soft edge
 * and noise; for the conditional GAN two classes (small, round and light; large, elongated and dark),
 * alternating. Deterministic, so both sides read the same file.
 *
 * The measure: sliced Wasserstein distances (`slicedWasserstein`) between SAMPLES generated images
 * (fixed latents, the generator in inference mode, as the app generates) and SAMPLES held-out real
 * ones, on the images averaged down to 8x8 and 16x16 pixels (values in [0, 1], times 1,000): the
 * mean over 256 random directions of the distance between the two sets' projections (1-D
 * Wasserstein-1). Smaller is closer; two real sets of the same size give the floor (`real` rows).
 * For the conditional GAN, per class (SAMPLES of each), averaged over the classes; `crossed16` is the
 * 16x16 distance from the held-out images of the other class, which a generator that follows its
 * labels keeps well above swd16. Sample grids (the first 64 samples of the last evaluation; for the
 * conditional GAN 32 of each class, a class every four rows) are written to --out as PNGs.
 *
 * PyTorch runs with as many threads as our WebAssembly backend (GAN_AUGMENT_WASM_THREADS, else one per
 * logical processor), through --torch-threads. The two sides draw different random numbers: compare
 * the spread across seeds, not single figures.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { arg, runBench } from './support';
import { initBackend, type BackendChoice } from '../src/worker/backends';
import { tf } from '../src/worker/backends/tf';
import { makeConfig, type ModelFamily, type Resolution } from '../src/worker/models/config';
import { createTrainer, datasetFromPixels, type Dataset } from '../src/worker/training';
import { gridPngFromPixels, toUint8 } from '../src/worker/training/images';
import { winogradLevel } from '../src/worker/backends/wasm/winograd';
import { downsampled, lesionImages, slicedWasserstein } from './quality';

interface Scores {
  swd8: number;
  swd16: number;
  /** The conditional GAN: the 16x16 distance from the other class's held-out images. */
  crossed16?: number;
}

const SIZES = [8, 16] as const;

/** A set of n images per class (class after class), averaged down to 8x8 and 16x16 once: what samples are measured against. */
interface Reference {
  n: number;
  res: number;
  classes: number;
  /** [class][size index]: that class's images at SIZES[size index], in [0, 1]. */
  down: Float32Array[][];
}

/** The images of class c of a set of n per class. */
function classOf(set: Uint8Array, c: number, n: number, res: number): Uint8Array {
  const size = n * res * res * 3;
  return set.subarray(c * size, (c + 1) * size);
}

function reference(set: Uint8Array, n: number, res: number, classes: number): Reference {
  const down = Array.from({ length: classes }, (_, c) => SIZES.map((size) => downsampled(classOf(set, c, n, res), n, res, res / size)));
  return { n, res, classes, down };
}

/**
 * The distances (times 1,000) of `samples` (n images per class, class after class) from the
 * reference's images of the same class, averaged over the classes; with two classes or more also
 * `crossed16`, from the next class's.
 */
function scores(samples: Uint8Array, ref: Reference): Scores {
  const { n, res, classes } = ref;
  const mine = reference(samples, n, res, classes).down;
  const at = (c: number, refClass: number, s: number) => 1000 * slicedWasserstein(mine[c]![s]!, ref.down[refClass]![s]!, n, SIZES[s]! ** 2 * 3);
  const mean = (f: (c: number) => number) => Array.from({ length: classes }, (_, c) => f(c)).reduce((a, b) => a + b, 0) / classes;
  const out: Scores = { swd8: mean((c) => at(c, c, 0)), swd16: mean((c) => at(c, c, 1)) };
  if (classes > 1) out.crossed16 = mean((c) => at(c, (c + 1) % classes, 1));
  return out;
}

/** 64 images of `samples` (n per class, class after class: 64 / classes of each) as an 8 x 8 PNG grid (`gridPngFromPixels`). */
async function gridOf(samples: Uint8Array, n: number, res: number, classes: number, file: string): Promise<void> {
  const per = 64 / classes;
  const px = new Uint8Array(64 * res * res * 3);
  for (let c = 0; c < classes; c++) px.set(classOf(samples, c, n, res).subarray(0, per * res * res * 3), c * per * res * res * 3);
  writeFileSync(file, await gridPngFromPixels(px, res, 3, 8, 8));
}

interface Row extends Scores {
  side: 'ours' | 'torch' | 'real';
  seed: number;
  step: number;
  dLoss?: number;
  gLoss?: number;
  trainSeconds?: number;
}

/** The first n training images of each class, class after class (the floor's real set). */
function firstOfEach(ds: Dataset, images: Uint8Array, n: number, res: number): Uint8Array {
  const size = res * res * 3;
  const out = new Uint8Array(ds.byClass.length * n * size);
  ds.byClass.forEach((indices, c) => indices.slice(0, n).forEach((img, j) => out.set(images.subarray(img * size, (img + 1) * size), (c * n + j) * size)));
  return out;
}

async function main(): Promise<void> {
  const model = arg('model', 'dcgan') as ModelFamily;
  if (model !== 'dcgan' && model !== 'cwgan-gp') throw new Error('--model must be dcgan or cwgan-gp');
  const res = Number(arg('resolution', '32')) as Resolution;
  const batch = Number(arg('batch', '32'));
  const steps = Number(arg('steps', '1500'));
  const every = Number(arg('every', '250'));
  const seeds = arg('seeds', '1,2').split(',').map(Number);
  const count = Number(arg('images', '4096'));
  const n = Number(arg('samples', '1024'));
  const out = resolve(arg('out', join(tmpdir(), 'gan-augment-quality')));
  const python = arg('python', 'python3');
  const torchThreads = arg('torch-threads', process.env.GAN_AUGMENT_WASM_THREADS ?? String(availableParallelism()));
  const json = process.argv.includes('--json');
  const withTorch = !process.argv.includes('--no-torch');
  const classes = model === 'cwgan-gp' ? 2 : 1;
  if (n % 256 !== 0 || n < 256) throw new Error('--samples must be a multiple of 256');
  if (count < classes * n) throw new Error(`--images must be at least ${classes * n} (the floor compares ${n} training images of each class)`);
  mkdirSync(out, { recursive: true });

  const backend = await initBackend(arg('backend', 'auto') as BackendChoice);
  const labels = Int32Array.from({ length: count }, (_, i) => i % classes);
  const train = lesionImages(count, res, 7, classes > 1 ? labels : undefined);
  const heldLabels = Int32Array.from({ length: classes * n }, (_, i) => Math.floor(i / n));
  const heldOut = reference(lesionImages(classes * n, res, 8, classes > 1 ? heldLabels : undefined), n, res, classes);
  const ds = datasetFromPixels(train, labels, res, 3);
  const floor = firstOfEach(ds, train, n, res);
  const [dataFile, labelFile] = [join(out, `lesions-${model}-${count}-${res}.u8`), join(out, `labels-${model}-${count}.u8`)];
  writeFileSync(dataFile, train);
  writeFileSync(labelFile, Uint8Array.from(labels));
  await gridOf(floor, n, res, classes, join(out, 'real.png'));

  if (!json) console.log(`${backend.name} (${backend.device}; Winograd ${winogradLevel()}); ${model} ${res} px, batch ${batch}, ${steps} steps; ${count} training images, ${n} samples per class`);
  const rows: Row[] = [];
  const report = (row: Row) => {
    rows.push(row);
    if (json) console.log(JSON.stringify({ bench: 'train-quality', model, backend: backend.name, device: backend.device, winograd: winogradLevel(), resolution: res, batch, ...row }));
    else console.log(`${row.side.padEnd(5)} seed ${row.seed} step ${String(row.step).padStart(5)}: swd8 ${row.swd8.toFixed(1)}, swd16 ${row.swd16.toFixed(1)}` +
      (row.crossed16 === undefined ? '' : `, crossed16 ${row.crossed16.toFixed(1)}`) +
      (row.dLoss === undefined ? '' : `, losses d ${row.dLoss.toFixed(3)} g ${row.gLoss!.toFixed(3)}, ${row.trainSeconds!.toFixed(1)} s`));
  };
  // The floor: real images against real images the same way (the training set's first n of each class against the held-out ones).
  report({ side: 'real', seed: 0, step: 0, ...scores(floor, heldOut) });

  for (const seed of seeds) {
    // Ours: the app's trainer, losses read every step as on the processor.
    const config = makeConfig(model, res, { preset: 'default', batchSize: batch, numClasses: classes });
    const trainer = createTrainer(config, ds, { seed, readLossEvery: 1 });
    const fixed = tf.randomNormal([n, config.latentDim], 0, 1, 'float32', 10_000 + seed) as tf.Tensor2D;
    try {
      const sample = async (): Promise<Uint8Array> => {
        const all = new Uint8Array(classes * n * res * res * 3);
        for (let c = 0; c < classes; c++) {
          for (let i = 0; i < n; i += 256) {
            const images = tf.tidy(() => {
              const z = tf.slice(fixed, [i, 0], [256, -1]);
              const input = model === 'dcgan' ? z : [z, tf.fill([256, 1], c, 'int32')];
              return trainer.generator.predict(input) as tf.Tensor4D;
            });
            try {
              all.set(await toUint8(images), (c * n + i) * res * res * 3);
            } finally {
              images.dispose();
            }
          }
        }
        return all;
      };
      let samples = await sample();
      report({ side: 'ours', seed, step: 0, ...scores(samples, heldOut) });
      let [d, g, k, t0] = [0, 0, 0, performance.now()];
      for (let s = 1; s <= steps; s++) {
        const m = await trainer.step();
        [d, g, k] = [d + (m.dLoss ?? NaN), g + (m.gLoss ?? NaN), k + 1];
        if (s % every === 0 || s === steps) {
          const trainSeconds = (performance.now() - t0) / 1000;
          samples = await sample();
          report({ side: 'ours', seed, step: s, ...scores(samples, heldOut), dLoss: d / k, gLoss: g / k, trainSeconds });
          [d, g, k, t0] = [0, 0, 0, performance.now()];
        }
      }
      await gridOf(samples, n, res, classes, join(out, `ours-s${seed}.png`));
    } finally {
      fixed.dispose();
      trainer.dispose();
    }

    if (!withTorch) continue;
    const script = resolve(__dirname, 'torch_quality.py');
    const argv = [script, model, dataFile, classes > 1 ? labelFile : '-', count, res, batch, steps, every, n, seed, out].map(String);
    const run = spawnSync(python, argv, { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: torchThreads }, maxBuffer: 1 << 24 });
    if (run.status !== 0) throw new Error(`PyTorch failed (${python} ${script}): ${run.stderr || run.error?.message}`);
    let last: Uint8Array | null = null;
    for (const line of run.stdout.trim().split('\n').filter((l) => l.startsWith('{'))) {
      const r = JSON.parse(line) as { step: number; dLoss?: number; gLoss?: number; trainSeconds?: number };
      last = new Uint8Array(readFileSync(join(out, `torch-s${seed}-${r.step}.u8`)));
      report({ side: 'torch', seed, step: r.step, ...scores(last, heldOut), dLoss: r.dLoss, gLoss: r.gLoss, trainSeconds: r.trainSeconds });
    }
    if (last) await gridOf(last, n, res, classes, join(out, `torch-s${seed}.png`));
  }

  // Per side: each seed's distances averaged over the evaluations of the last third of training (a
  // GAN's samples swing from one evaluation to the next), then the mean and range over seeds; and
  // the training time per step.
  for (const side of ['ours', 'torch'] as const) {
    const mine = rows.filter((r) => r.side === side);
    if (mine.length === 0) continue;
    const late = seeds.map((seed) => mine.filter((r) => r.seed === seed && r.step > 0 && r.step >= (2 * steps) / 3));
    const stats = (key: 'swd8' | 'swd16' | 'crossed16') => {
      const v = late.map((rs) => rs.reduce((a, r) => a + (r[key] ?? NaN), 0) / rs.length);
      return { mean: v.reduce((a, b) => a + b, 0) / v.length, min: Math.min(...v), max: Math.max(...v) };
    };
    const timed = mine.filter((r) => r.trainSeconds !== undefined);
    const msPerStep = (1000 * timed.reduce((a, r) => a + r.trainSeconds!, 0)) / (seeds.length * steps);
    const summary = { side, seeds: seeds.length, lastThirdSwd8: stats('swd8'), lastThirdSwd16: stats('swd16'), ...(classes > 1 ? { lastThirdCrossed16: stats('crossed16') } : {}), msPerStep };
    if (json) console.log(JSON.stringify({ bench: 'train-quality', summary: true, model, backend: backend.name, winograd: winogradLevel(), resolution: res, batch, steps, ...summary }));
    else {
      const f = (x: { mean: number; min: number; max: number }) => `${x.mean.toFixed(1)} (${x.min.toFixed(1)}-${x.max.toFixed(1)})`;
      console.log(`${side}: last third, mean over ${seeds.length} seeds (range): swd8 ${f(summary.lastThirdSwd8)}, swd16 ${f(summary.lastThirdSwd16)}` +
        (summary.lastThirdCrossed16 ? `, crossed16 ${f(summary.lastThirdCrossed16)}` : '') + `; ${msPerStep.toFixed(0)} ms a step`);
    }
  }
  if (!json) console.log(`grids and data in ${out}`);
}

runBench(main);

import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../backends/tf';
import { initBackend } from '../backends';
import { type GanConfig, makeConfig } from '../models/config';
import { createTrainer, loadTrainer, outsideTape, readCheckpoint } from './trainer';
import { bceWithLogits } from '../models/losses';
import { makeDiffAugment } from '../models/diffaugment';
import { createAdam } from '../backends/kernels/adam';
import { batchImages, sampleIndices } from './dataset';
import { prngFor } from './rng';
import { datasetFromPixels, loadDataset, type Dataset } from './dataset';
import { hashSeed, Prng } from './rng';
import { DeviceOutOfMemoryError, isOutOfMemory, withOomCheck } from './errors';
import { gridPngFromPixels, imagesToPngs } from './images';

let tmp: string;

beforeAll(async () => {
  await initBackend('cpu');
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'gan-trainer-'));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

/** A random dataset: `perClass` images per class, 32 px RGB. */
function randomDataset(classes: number, perClass: number, channels: 1 | 3 = 3): Dataset {
  const rng = new Prng(99);
  const n = classes * perClass;
  const pixels = Uint8Array.from({ length: n * 32 * 32 * channels }, () => rng.int(256));
  const labels = Int32Array.from({ length: n }, (_, i) => i % classes);
  return datasetFromPixels(pixels, labels, 32, channels);
}

function tinyConfig(family: GanConfig['family'], extra: Partial<GanConfig> = {}): GanConfig {
  return { ...makeConfig(family, 32, { preset: 'tiny', numClasses: 3, batchSize: 2 }), nCritic: 2, ...extra };
}

const families = ['dcgan', 'cwgan-gp'] as const;

describe.each(families)('%s trainer (tiny, 32 px, CPU)', (family) => {
  it('steps and reports metrics', async () => {
    const t = createTrainer(tinyConfig(family), randomDataset(3, 4), { seed: 1 });
    const m = await t.step();
    expect(m.step).toBe(1);
    expect(Number.isFinite(m.dLoss)).toBe(true);
    expect(Number.isFinite(m.gLoss)).toBe(true);
    expect(m.stepMs).toBeGreaterThan(0);
    if (family === 'cwgan-gp') {
      expect(Number.isFinite(m.wassersteinEstimate)).toBe(true);
      expect(m.gradientPenalty).toBeGreaterThanOrEqual(0);
    } else {
      expect(m.wassersteinEstimate).toBeUndefined();
    }
    t.dispose();
  });

  it('leaks no tensors: numTensors unchanged after a step (after a burn-in step)', async () => {
    const t = createTrainer(tinyConfig(family, { diffAugment: { ...makeConfig(family, 32).diffAugment, enabled: true } }), randomDataset(3, 4), {
      seed: 2,
      readLossEvery: 2,
    });
    await t.step(); // burn-in: Adam creates its accumulators
    const before = tf.memory().numTensors;
    const m2 = await t.step(); // reads losses (step 2)
    expect(m2.synced).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
    const m3 = await t.step(); // does not read losses
    expect(m3.synced).toBe(false);
    expect(m3.dLoss).toBeNull();
    expect(tf.memory().numTensors).toBe(before);
    await t.sampleGrid({ perClass: 2 });
    await t.generate(0, 3, 5, { batchSize: 2 });
    expect(tf.memory().numTensors).toBe(before);
    t.dispose();
  });

  it('checkpoint round trip: resumed step 3 is bit-identical', async () => {
    const ds = randomDataset(3, 4);
    const dir = path.join(tmp, `${family}-rt`, 'step-2');
    const a = createTrainer(tinyConfig(family), ds, { seed: 7 });
    await a.step();
    await a.step();
    await a.saveCheckpoint(dir);
    const metricsA = await a.step();
    const gridA = await a.sampleGrid({ perClass: 2 });
    const b = await loadTrainer(dir, ds);
    expect(b.currentStep).toBe(2);
    const metricsB = await b.step();
    const gridB = await b.sampleGrid({ perClass: 2 });
    const strip = (m: typeof metricsA) => ({ ...m, stepMs: 0 });
    expect(strip(metricsB)).toEqual(strip(metricsA));
    // The weights after step 3 are identical too (checked through the sample grid).
    expect(gridB.equals(gridA)).toBe(true);
    const meta = await readCheckpoint(dir);
    expect(meta).toMatchObject({ formatVersion: 1, family, step: 2, runSeed: 7 });
    a.dispose();
    b.dispose();
  });
});

describe('DCGAN step with one G forward pass', () => {
  it('updates G and D exactly as two G passes did (D first on detached fakes, then G through the updated D)', async () => {
    const config = tinyConfig('dcgan', { diffAugment: { ...makeConfig('dcgan', 32).diffAugment, enabled: true } });
    const ds = randomDataset(3, 4);
    const ours = createTrainer(config, ds, { seed: 9 });
    const ref = createTrainer(config, ds, { seed: 9 });
    let gPasses = 0;
    const apply = ours.generator.apply.bind(ours.generator);
    ours.generator.apply = ((...a: Parameters<typeof apply>) => {
      gPasses++;
      return apply(...a);
    }) as typeof apply;
    await ours.step();
    expect(gPasses).toBe(1);

    // The previous algorithm, spelled out: G(z) for D's update, then G(z) again under G's tape.
    const s = 1;
    const B = config.batchSize;
    const { generator: G, discriminator: D } = ref;
    const optD = createAdam(config.learningRateD, config.beta1, config.beta2, config.adamEpsilon);
    const optG = createAdam(config.learningRateG, config.beta1, config.beta2, config.adamEpsilon);
    const vars = (m: typeof G) => m.trainableWeights.map((w) => w.read() as tf.Variable);
    const augD = makeDiffAugment(config.diffAugment, B, 32, 3, hashSeed(9, s, 'augment/d'));
    const augG = makeDiffAugment(config.diffAugment, B, 32, 3, hashSeed(9, s, 'augment/g'));
    tf.tidy(() => {
      const real = batchImages(ds, sampleIndices(ds, B, prngFor(9, s, 'batch'), config.balancedClasses));
      const z = tf.randomNormal([B, config.latentDim], 0, 1, 'float32', hashSeed(9, s, 'z'));
      const fake = G.apply(z, { training: true }) as tf.Tensor4D;
      const d = tf.variableGrads(
        () =>
          tf.add(
            bceWithLogits(D.apply(augD(real), { training: true }) as tf.Tensor, 1),
            bceWithLogits(D.apply(augD(fake), { training: true }) as tf.Tensor, 0),
          ) as tf.Scalar,
        vars(D),
      );
      optD.applyGradients(d.grads);
      const g = tf.variableGrads(() => bceWithLogits(D.apply(augG(G.apply(z, { training: true }) as tf.Tensor4D), { training: true }) as tf.Tensor, 1), vars(G));
      optG.applyGradients(g.grads);
    });
    for (const [a, b] of [
      [ours.generator, G],
      [ours.discriminator, D],
    ] as const) {
      const wa = await Promise.all(a.trainableWeights.map((w) => w.read().data()));
      const wb = await Promise.all(b.trainableWeights.map((w) => w.read().data()));
      expect(wa).toEqual(wb);
    }
    optD.dispose();
    optG.dispose();
    ours.dispose();
    ref.dispose();
  });

  it('outsideTape: its ops are not recorded for the enclosing gradient, and the tape is restored after a throw', () => {
    const x = tf.scalar(3);
    const w = tf.variable(tf.scalar(1), true, 'outsideTapeW');
    const { value, grads } = tf.variableGrads(() => {
      const y = tf.mul(tf.mul(x, x), w);
      const constant = outsideTape(() => tf.mul(y, 10));
      expect(() => outsideTape(() => { throw new Error('boom'); })).toThrow('boom');
      return tf.add(y, constant) as tf.Scalar;
    }, [w]);
    // d/dw of (9w + const) at w = 1 is 9: the 10 * y term is a constant.
    expect(value.dataSync()[0]).toBe(99);
    expect(grads['outsideTapeW']!.dataSync()[0]).toBe(9);
    tf.dispose([x, w, value, grads['outsideTapeW']!]);
  });
});

describe('checkpoint atomicity', () => {
  it('a crash while writing leaves the previous checkpoint intact', async () => {
    const ds = randomDataset(1, 4);
    const dir = path.join(tmp, 'atomic', 'latest');
    const t = createTrainer(tinyConfig('dcgan'), ds, { seed: 3 });
    await t.step();
    await t.saveCheckpoint(dir);
    await t.step();
    for (const stage of ['generator.weights.bin', 'checkpoint.json', 'before-commit']) {
      await expect(
        t.saveCheckpoint(dir, {
          fault: (s) => {
            if (s === stage) throw new Error('simulated crash');
          },
        }),
      ).rejects.toThrow('simulated crash');
      expect((await readCheckpoint(dir)).step).toBe(1);
      // A write that fails (a full disk) leaves no half-written temp directory taking space.
      expect(await fs.readdir(path.dirname(dir))).toEqual(['latest']);
    }
    // A crash between the two renames: only `<dir>.old-<pid>` exists; load finds it.
    await fs.rename(dir, `${dir}.old-12345`);
    const loaded = await loadTrainer(dir, ds);
    expect(loaded.currentStep).toBe(1);
    loaded.dispose();
    await fs.rename(`${dir}.old-12345`, dir);
    // The next good save replaces it and leaves no temp directories behind.
    await t.saveCheckpoint(dir);
    expect((await readCheckpoint(dir)).step).toBe(2);
    expect((await fs.readdir(path.dirname(dir))).sort()).toEqual(['latest']);
    t.dispose();
  });

  it('a damaged checkpoint fails to load and leaves no tensors behind', async () => {
    const ds = randomDataset(1, 4);
    const t = createTrainer(tinyConfig('dcgan'), ds, { seed: 3 });
    await t.step();
    const good = path.join(tmp, 'damaged', 'good');
    await t.saveCheckpoint(good);
    t.dispose();
    const before = tf.memory().numTensors;
    // Each file damaged in turn: the discriminator (after the generator was built), then the optimizer state (after both).
    for (const [file, error] of [['discriminator.weights.bin', /discriminator's weights in the checkpoint are damaged/], ['optimizer-d.bin', /optimizer state in the checkpoint is damaged/]] as const) {
      const dir = path.join(tmp, 'damaged', file);
      await fs.cp(good, dir, { recursive: true });
      const bytes = await fs.readFile(path.join(dir, file));
      await fs.writeFile(path.join(dir, file), bytes.subarray(0, bytes.length - 8));
      await expect(loadTrainer(dir, ds)).rejects.toThrow(error);
      await expect(loadTrainer(dir, ds)).rejects.toMatchObject({ kind: 'damaged' });
      expect(tf.memory().numTensors).toBe(before);
    }
    const loaded = await loadTrainer(good, ds);
    expect(tf.memory().numTensors).toBeGreaterThan(before);
    loaded.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('checkpointBytes', () => {
  it('is what saveCheckpoint writes, within 2%', async () => {
    for (const family of ['dcgan', 'cwgan-gp'] as const) {
      const t = createTrainer(tinyConfig(family), randomDataset(3, 4), { seed: 1 });
      await t.step();
      const dir = path.join(tmp, 'size', family);
      await t.saveCheckpoint(dir);
      const written = (await fs.readdir(dir)).reduce(async (a, f) => (await a) + (await fs.stat(path.join(dir, f))).size, Promise.resolve(0));
      expect(Math.abs(t.checkpointBytes() / (await written) - 1)).toBeLessThan(0.02);
      t.dispose();
    }
  });
});

describe('images', () => {
  it('sampleGrid and generate give PNGs of the right size; generate is reproducible per (seed, latent index)', async () => {
    const t = createTrainer(tinyConfig('cwgan-gp'), randomDataset(3, 2), { seed: 4 });
    const grid = await sharp(await t.sampleGrid({ perClass: 4 })).metadata();
    expect([grid.width, grid.height]).toEqual([4 * 32 + 3 * 2, 3 * 32 + 2 * 2]);
    const a = await t.generate(2, 3, 77, { batchSize: 2 });
    expect(a.map((g) => g.latentIndex)).toEqual([0, 1, 2]);
    const b = await t.generate(2, 1, 77);
    expect(b[0]!.png.equals(a[0]!.png)).toBe(true);
    const meta = await sharp(a[1]!.png).metadata();
    expect([meta.width, meta.height, meta.channels]).toEqual([32, 32, 3]);
    await expect(t.generate(5, 1, 1)).rejects.toThrow(/not one this model/);
    t.dispose();
    // A greyscale model's images are greyscale PNGs, as its real images are (not grey written as RGB).
    const grey = createTrainer(tinyConfig('dcgan', { channels: 1 }), randomDataset(3, 2, 1), { seed: 4 });
    const [one] = await grey.generate(0, 1, 5);
    expect((await sharp(one!.png).metadata()).channels).toBe(1);
    expect((await sharp(await grey.sampleGrid({ perClass: 2 })).metadata()).channels).toBe(1);
    grey.dispose();
  });

  it('imagesToPngs encodes a batch at once and keeps its order', async () => {
    // Image i is one grey level, -1 + i / 4 (pixels round(127.5 * i / 4)), 5x5 RGB.
    const n = 9;
    const images = tf.tidy(() => tf.sub(tf.mul(tf.add(tf.reshape(tf.range(0, n), [n, 1, 1, 1]), tf.zeros([n, 5, 5, 3])), 0.25), 1)) as tf.Tensor4D;
    const pngs = await imagesToPngs(images);
    images.dispose();
    expect(pngs).toHaveLength(n);
    const firstPixels = await Promise.all(pngs.map(async (png) => Array.from((await sharp(png).raw().toBuffer()).subarray(0, 3))));
    expect(firstPixels).toEqual(Array.from({ length: n }, (_, i) => Array(3).fill(Math.round((127.5 * i) / 4))));
  });

  it('gridPngFromPixels lays the images out row by row with grey gaps, and refuses pixels of the wrong size', async () => {
    // 2 x 3 grid of 2x2 grey images, image i all at level 10 * (i + 1); a 1 px gap.
    const r = 2;
    const px = Uint8Array.from({ length: 6 * r * r }, (_, j) => 10 * (Math.floor(j / (r * r)) + 1));
    const png = await gridPngFromPixels(px, r, 1, 2, 3, 1);
    expect((await sharp(png).metadata()).channels).toBe(1);
    const { data, info } = await sharp(png).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([3 * r + 2, 2 * r + 1]);
    const at = (x: number, y: number) => data[y * info.width + x];
    expect([at(0, 0), at(3, 0), at(6, 1), at(1, 3), at(7, 4)]).toEqual([10, 20, 30, 40, 60]);
    expect([at(2, 0), at(0, 2), at(5, 4)]).toEqual([128, 128, 128]);
    await expect(gridPngFromPixels(px.subarray(1), r, 1, 2, 3)).rejects.toThrow('23 bytes for a 2x3 grid of 2x2x1 images');
  });
});

describe('loadDataset', () => {
  it('reads PNG files into [-1, 1] batches (RGB and grayscale)', async () => {
    const files = [];
    for (let i = 0; i < 3; i++) {
      const file = path.join(tmp, `img${i}.png`);
      // 40x40 solid colour, resized to 32.
      await sharp({ create: { width: 40, height: 40, channels: 3, background: { r: 255, g: i * 100, b: 0 } } }).png().toFile(file);
      files.push({ path: file, classIndex: i % 2 });
    }
    const rgb = await loadDataset(files, 32, 3);
    expect(rgb.count).toBe(3);
    expect(rgb.numClasses).toBe(2);
    expect(Array.from(rgb.pixels.subarray(32 * 32 * 3, 32 * 32 * 3 + 3))).toEqual([255, 100, 0]);
    const { batchImages } = await import('./dataset');
    const b = batchImages(rgb, Int32Array.from([0]));
    expect(b.shape).toEqual([1, 32, 32, 3]);
    expect(Array.from(b.dataSync().slice(0, 3))).toEqual([1, -1, -1]);
    b.dispose();
    const progress: Array<[number, number]> = [];
    const gray = await loadDataset(files, 32, 1, { onProgress: (done, total) => progress.push([done, total]) });
    expect(gray.pixels.length).toBe(3 * 32 * 32);
    expect(progress).toEqual([[1, 3], [2, 3], [3, 3]]); // one call per image read
    await expect(loadDataset([{ path: path.join(tmp, 'missing.png'), classIndex: 0 }], 32, 3)).rejects.toThrow(/missing.png/);
  });

  it('names a training copy changed or deleted outside the app, and says how to find every such file', async () => {
    const junk = path.join(tmp, 'junk.png');
    await fs.writeFile(junk, 'not a picture');
    await expect(loadDataset([{ path: junk, classIndex: 0 }], 32, 3)).rejects.toMatchObject({
      kind: 'damaged',
      message: `The training copy of an image cannot be read (${junk}): it was changed or damaged outside GAN Augment. Run "Verify project files" on the Overview to find every such file.`,
    });
    await expect(loadDataset([{ path: path.join(tmp, 'gone.png'), classIndex: 0 }], 32, 3)).rejects.toMatchObject({ kind: 'not-found', message: expect.stringMatching(/is missing .*gone\.png.*deleted outside/) });
  });

  it('stops every loader at the first file it cannot read', async () => {
    const good = path.join(tmp, 'good.png');
    await sharp({ create: { width: 40, height: 40, channels: 3, background: '#804020' } }).png().toFile(good);
    const files = [{ path: path.join(tmp, 'missing.png'), classIndex: 0 }, ...Array.from({ length: 200 }, () => ({ path: good, classIndex: 0 }))];
    let read = 0;
    await expect(loadDataset(files, 32, 3, { concurrency: 4, onProgress: () => read++ })).rejects.toThrow(/missing.png/);
    const atFailure = read;
    await new Promise((r) => setTimeout(r, 300));
    // Only the reads already under way finish (at most one per other loader).
    expect(read - atFailure).toBeLessThanOrEqual(3);
    expect(read).toBeLessThan(20);
  });
});

describe('rng and errors', () => {
  it('seeds depend on every part', () => {
    expect(hashSeed(1, 2, 'z')).toBe(hashSeed(1, 2, 'z'));
    expect(new Set([hashSeed(1, 2, 'z'), hashSeed(1, 3, 'z'), hashSeed(2, 2, 'z'), hashSeed(1, 2, 'batch')]).size).toBe(4);
    expect(hashSeed(0)).toBeGreaterThan(0);
  });

  it('out-of-memory errors become a sentence with a suggestion', async () => {
    expect(isOutOfMemory(new Error('Failed to allocate buffer of size 123'))).toBe(true);
    expect(isOutOfMemory(new Error('shape mismatch'))).toBe(false);
    // V8's allocation failures are RangeErrors; a stack overflow is one too, but is not memory.
    expect(isOutOfMemory(new RangeError('Invalid typed array length: 4294967296'))).toBe(true);
    expect(isOutOfMemory(new RangeError('Array buffer allocation failed'))).toBe(true);
    expect(isOutOfMemory(new RangeError('Maximum call stack size exceeded'))).toBe(false);
    const err = await withOomCheck(async () => {
      throw new Error('GPUOutOfMemoryError: out of memory');
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceOutOfMemoryError);
    expect((err as Error).message).toBe('The GPU ran out of memory. Try a smaller batch size or resolution.');
  });
});

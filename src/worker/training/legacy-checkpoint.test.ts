/**
 * Checkpoints saved before the fused layers (test/fixtures/checkpoints/legacy-probe.ts says how they
 * were made) load with their separate layers, compute what the code that saved them computed, go on
 * training as it would have, generate, and save and load again. On the pure-JS backend, where today's
 * code runs the same tfjs operations as then: the same bits.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../backends/tf';
import { initBackend } from '../backends';
import { createTrainer, loadTrainer, readCheckpoint } from './trainer';
import {
  copyLegacyCheckpoint,
  FAMILIES,
  layerClasses,
  legacyDataset,
  maxAbsDifference,
  probe,
  resumeLegacy,
} from '../../../test/fixtures/checkpoints/legacy-probe';

let tmp: string;

beforeAll(async () => {
  await initBackend('cpu');
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'gan-legacy-'));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

describe.each(FAMILIES)('a %s checkpoint saved before the fused layers (3827c11)', (family) => {
  it('is a different topology from what today builds', async () => {
    const { dir, expected } = await copyLegacyCheckpoint(family, path.join(tmp, 'topology'));
    const meta = await readCheckpoint(dir);
    const fresh = createTrainer(meta.config, null, { seed: 1 });
    const today = [...layerClasses(fresh.generator), ...layerClasses(fresh.discriminator)];
    fresh.dispose();
    const saved = [...expected.generatorLayers, ...expected.discriminatorLayers];
    // Today's fused layers, and the separate layers each stands for in the fixture.
    const replaced: Array<[string, string[]]> = [
      ['GanAugmentBatchNormActivation', ['BatchNormalization', 'ReLU']],
      ['GanAugmentConv2DLeakyReLU', ['Conv2D', 'LeakyReLU']],
      ['GanAugmentConv2DTransposeTanh', ['Conv2DTranspose', 'Activation']],
      ...(family === 'cwgan-gp' ? ([['GanAugmentProjectionHead', ['Dense', 'Embedding', 'Dot', 'Add']]] as Array<[string, string[]]>) : []),
    ];
    for (const [fused, separate] of replaced) {
      expect(today).toContain(fused);
      for (const layer of separate) expect(saved).toContain(layer);
    }
    expect(saved.filter((c) => c.startsWith('GanAugment'))).toEqual([]);
  });

  it('loads with its own layers and computes the images and scores it computed when saved', async () => {
    const { dir, expected, probeValues } = await copyLegacyCheckpoint(family, path.join(tmp, 'probe'));
    const trainer = await loadTrainer(dir, null);
    expect(trainer.currentStep).toBe(expected.step);
    expect(layerClasses(trainer.generator)).toEqual(expected.generatorLayers);
    expect(layerClasses(trainer.discriminator)).toEqual(expected.discriminatorLayers);
    // The same tfjs operations as the saving code: the same bits. (A tfjs upgrade may move the last
    // bits; then allow float32 rounding here and say so.)
    expect(maxAbsDifference(await probe(trainer), probeValues)).toBe(0);
    const pngs = await trainer.generate(0, 2, 7);
    expect(pngs.map((p) => p.png.subarray(1, 4).toString())).toEqual(['PNG', 'PNG']);
    trainer.dispose();
  });

  it('goes on training as the code that saved it did, and saves and loads again', async () => {
    const r = await resumeLegacy(family, path.join(tmp, 'resume'));
    expect(r.step).toBe(r.expected.step + 1);
    // The same operations, so the same losses, to the bit.
    expect(Math.max(r.dLossRelative, r.gLossRelative)).toBe(0);

    const { dir, expected } = await copyLegacyCheckpoint(family, path.join(tmp, 'resave'));
    const trainer = await loadTrainer(dir, legacyDataset());
    const before = tf.memory().numTensors;
    await trainer.step();
    expect(tf.memory().numTensors).toBe(before);
    const again = path.join(tmp, 'resaved', family);
    await trainer.saveCheckpoint(again);
    const reloaded = await loadTrainer(again, null);
    expect(reloaded.currentStep).toBe(expected.step + 1);
    expect(layerClasses(reloaded.generator)).toEqual(expected.generatorLayers);
    expect(layerClasses(reloaded.discriminator)).toEqual(expected.discriminatorLayers);
    expect(maxAbsDifference(await probe(reloaded), await probe(trainer))).toBe(0);
    reloaded.dispose();
    trainer.dispose();
  });
});

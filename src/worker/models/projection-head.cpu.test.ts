/**
 * The projection head (./projection-head.ts) on the processor's backends, the pure-JS one and
 * WebAssembly: the four layers' own operations, so the same bits as Dense, Embedding, Dot and Add
 * give, scores and every gradient a critic's training takes (the double backwards included). And
 * what does not depend on the backend: serialisation, the initial weights, the arguments it refuses,
 * no tensors left behind. Its own file: the tfjs backend is process-wide.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tf, tfl } from '../backends/tf';
import { initBackend } from '../backends';
import { ProjectionHead, projectionHead } from './projection-head';
import { expectSameBits, saveAndLoad } from './layer-test-support';
import { expectHeadLeavesNoTensors, HEAD_CASES, headInputs, headModel, headResults, setSameWeights } from './projection-head-test-support';

afterAll(() => {
  tf.disposeVariables();
});

describe.each(['cpu', 'wasm'] as const)('the projection head on %s', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });

  it.each(HEAD_CASES.map((c) => [`B ${c.batch}, F ${c.features}, K ${c.classes}`, c] as const))(
    '%s: the same bits as the four layers',
    async (_, c) => {
      const ours = headModel('ours', c.features, c.classes);
      const theirs = headModel('four layers', c.features, c.classes);
      setSameWeights([ours, theirs], c, 3);
      const { phi, labels, w } = headInputs(c, 5);
      const a = headResults(ours, phi, labels, w);
      const b = headResults(theirs, phi, labels, w);
      expect(a.names).toEqual(b.names);
      for (const [i, name] of a.names.entries()) await expectSameBits(a.tensors[i]!, b.tensors[i]!, `${backend} ${name}`);
      tf.dispose([phi, labels, w, ...a.tensors, ...b.tensors]);
      ours.dispose();
      theirs.dispose();
    },
  );

  it('leaves no tensors behind in training', () => {
    expectHeadLeavesNoTensors();
  });
});

describe('the projection head, whatever the backend', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });

  it('saves and loads under its own class name, with its class count and initialisers, and scores the same', async () => {
    const layer = projectionHead({
      numClasses: 3,
      kernelInitializer: tfl.initializers.randomNormal({ mean: 0, stddev: 0.02, seed: 41 }),
      embeddingsInitializer: tfl.initializers.glorotUniform({ seed: 42 }),
    });
    const { model, loaded, savedConfig } = await saveAndLoad(layer, [{ shape: [6] }, { shape: [1], dtype: 'int32' }], ProjectionHead.className);
    expect(savedConfig).toMatchObject({
      num_classes: 3,
      kernel_initializer: { class_name: 'RandomNormal', config: { stddev: 0.02, seed: 41 } },
      // As tfjs-layers saves a Glorot initialiser: the variance scaling it is.
      embeddings_initializer: { class_name: 'VarianceScaling', config: { seed: 42, distribution: 'uniform', mode: 'fan_avg' } },
    });
    const head = loaded.layers.find((l) => l instanceof ProjectionHead) as ProjectionHead;
    expect(head.numClasses).toBe(3);
    expect(head.getConfig()).toMatchObject({
      kernelInitializer: { className: 'RandomNormal', config: { stddev: 0.02, seed: 41 } },
      embeddingsInitializer: { className: 'VarianceScaling', config: { seed: 42, mode: 'fanAvg' } },
    });
    const phi = tf.randomNormal([4, 6], 0, 1, 'float32', 43);
    const labels = tf.tensor2d([0, 2, 1, 2], [4, 1], 'int32');
    const [a, b] = [model.predict([phi, labels]) as tf.Tensor, loaded.predict([phi, labels]) as tf.Tensor];
    await expectSameBits(a, b, 'loaded model');
    tf.dispose([phi, labels, a, b]);
    model.dispose();
    loaded.dispose();
  });

  it('starts from the weights the four layers start from with the same initialisers', async () => {
    const init = (seed: number) => tfl.initializers.randomNormal({ mean: 0, stddev: 0.02, seed });
    const phi = tfl.input({ shape: [10] });
    const label = tfl.input({ shape: [1], dtype: 'int32' });
    const head = projectionHead({ numClasses: 4, kernelInitializer: init(1), embeddingsInitializer: init(2) });
    head.apply([phi, label]);
    const dense = tfl.layers.dense({ units: 1, kernelInitializer: init(1) });
    dense.apply(phi);
    const embedding = tfl.layers.embedding({ inputDim: 4, outputDim: 10, embeddingsInitializer: init(2) });
    embedding.apply(label);
    const [k, b, e] = head.getWeights();
    const [dk, db] = dense.getWeights();
    const [de] = embedding.getWeights();
    await expectSameBits(k!, dk!, 'kernel');
    await expectSameBits(b!, db!, 'bias');
    await expectSameBits(e!, de!, 'embeddings');
    for (const layer of [head, dense, embedding]) layer.dispose();
  });

  it('refuses a class count that is not a positive integer, and inputs that are not [features, labels]', () => {
    expect(() => projectionHead({ numClasses: 0 })).toThrow(/numClasses must be a positive integer/);
    expect(() => projectionHead({ numClasses: 2.5 })).toThrow(/numClasses must be a positive integer/);
    const image = tfl.input({ shape: [4, 4, 3] });
    const label = tfl.input({ shape: [1], dtype: 'int32' });
    expect(() => projectionHead({ numClasses: 2 }).apply([image, label])).toThrow(/expects \[features \[B, F\], labels \[B, 1\]\]/);
  });
});

/**
 * The projection head (./projection-head.ts) on WebGPU (lavapipe here), where it runs our kernels
 * (../backends/kernels/projection.ts): scores and every gradient a critic's training takes, the
 * penalty's double backward included, against the same layer with our kernels off (the four layers'
 * operations on the same device) within float32 rounding (the sums run in another order); the
 * programs it dispatches; labels outside the embedding; serialisation; no tensors left behind.
 * Skipped, with the reason printed, without a WebGPU adapter.
 */
import { describe, expect, it } from 'vitest';
import { tf, tfl } from '../backends/tf';
import { maxRelDiff, webgpuSkipReason } from '../backends/kernels/test-support';
import { fastDispatchStats } from '../backends/index';
import { ProjectionHead, projectionHead } from './projection-head';
import { expectNoTensorsLeftByTraining, expectSameBits, saveAndLoad } from './layer-test-support';
import { HEAD_CASES, type HeadCase, headInputs, headModel, headResults, setSameWeights, weightsByRole } from './projection-head-test-support';

const reason = await webgpuSkipReason('projection head tests');

/** Runs fn with our WebGPU kernels turned off (GAN_AUGMENT_WGSL_KERNELS=0), as the layer reads it on each call. */
function withoutOurKernels<T>(fn: () => T): T {
  const before = process.env.GAN_AUGMENT_WGSL_KERNELS;
  process.env.GAN_AUGMENT_WGSL_KERNELS = '0';
  try {
    return fn();
  } finally {
    if (before === undefined) delete process.env.GAN_AUGMENT_WGSL_KERNELS;
    else process.env.GAN_AUGMENT_WGSL_KERNELS = before;
  }
}

const dispatches = () => fastDispatchStats()!.dispatches;

function counted<T>(fn: () => T): { value: T; dispatches: number } {
  const before = dispatches();
  const value = fn();
  return { value, dispatches: dispatches() - before };
}

describe.skipIf(reason !== '')('the projection head on WebGPU', () => {
  it.each(HEAD_CASES.map((c) => [`B ${c.batch}, F ${c.features}, K ${c.classes}`, c] as const))(
    '%s: scores and gradients (the double backward included) within float32 rounding of the four layers\' operations',
    async (_, c) => {
      const model = headModel('ours', c.features, c.classes);
      setSameWeights([model], c, 3);
      const { phi, labels, w } = headInputs(c, 5);
      const ours = headResults(model, phi, labels, w);
      const theirs = withoutOurKernels(() => headResults(model, phi, labels, w));
      for (const [i, name] of ours.names.entries()) {
        // Relative to the largest value: sums of up to 4,096 products in another order.
        expect(await maxRelDiff(ours.tensors[i]!, theirs.tensors[i]!), name).toBeLessThan(2e-6);
      }
      tf.dispose([phi, labels, w, ...ours.tensors, ...theirs.tensors]);
      model.dispose();
    },
  );

  it('the four layers and the head with our kernels off give the same bits (so the comparison above is with them)', async () => {
    const c = HEAD_CASES[2]!;
    const ours = headModel('ours', c.features, c.classes);
    const theirs = headModel('four layers', c.features, c.classes);
    setSameWeights([ours, theirs], c, 7);
    const { phi, labels, w } = headInputs(c, 9);
    const a = withoutOurKernels(() => headResults(ours, phi, labels, w));
    const b = withoutOurKernels(() => headResults(theirs, phi, labels, w));
    for (const [i, name] of a.names.entries()) await expectSameBits(a.tensors[i]!, b.tensors[i]!, name);
    tf.dispose([phi, labels, w, ...a.tensors, ...b.tensors]);
    ours.dispose();
    theirs.dispose();
  });

  it('dispatches one program forward, and a critic update\'s passes in far fewer programs', async () => {
    const c: HeadCase = HEAD_CASES[3]!;
    const ours = headModel('ours', c.features, c.classes);
    const theirs = headModel('four layers', c.features, c.classes);
    setSameWeights([ours, theirs], c, 11);
    const { phi, labels, w } = headInputs(c, 13);
    tf.dispose(headResults(theirs, phi, labels, w).tensors); // uploads the inputs; compiles
    tf.dispose(headResults(ours, phi, labels, w).tensors);
    const forward = (m: tfl.LayersModel) => counted(() => m.apply([phi, labels], { training: true }) as tf.Tensor);
    const [fo, ft] = [forward(ours), forward(theirs)];
    expect(fo.dispatches).toBe(1);
    expect(ft.dispatches).toBeGreaterThanOrEqual(4); // gather, matMul, Multiply, Sum, Add (a reduction may take two)
    const whole = (m: tfl.LayersModel) => counted(() => headResults(m, phi, labels, w));
    const [wo, wt] = [whole(ours), whole(theirs)];
    // Measured on lavapipe: 32 against 69 (all of headResults: five forward passes, three backward, one double).
    expect(wo.dispatches).toBeLessThanOrEqual(wt.dispatches / 2);
    console.log(`projection head, headResults: ${wo.dispatches} programs, the four layers ${wt.dispatches}`);
    tf.dispose([fo.value, ft.value, ...wo.value.tensors, ...wt.value.tensors, phi, labels, w]);
    ours.dispose();
    theirs.dispose();
  });

  it('a label outside the embedding scores with the linear part alone and takes no embedding gradient', async () => {
    const c: HeadCase = { batch: 3, features: 5, classes: 2, labels: [1, 2, -1] };
    const model = headModel('ours', c.features, c.classes);
    setSameWeights([model], c, 17);
    const { phi, labels, w } = headInputs(c, 19);
    const [kernel, bias, embeddings] = weightsByRole(model);
    const scores = model.apply([phi, labels], { training: true }) as tf.Tensor;
    const linear = tf.add(tf.matMul(phi, kernel!), bias!);
    const withClass1 = tf.add(linear, tf.sum(tf.mul(phi, tf.gather(embeddings!, [1, 1, 1])), 1, true));
    const [s, l, e] = await Promise.all([scores.data(), linear.data(), withClass1.data()]);
    expect(s[0]).toBeCloseTo(e[0]!, 5);
    expect(s[1]).toBeCloseTo(l[1]!, 5);
    expect(s[2]).toBeCloseTo(l[2]!, 5);
    const { grads, value } = tf.variableGrads(() => tf.sum(tf.mul(model.apply([phi, labels], { training: true }) as tf.Tensor, w)) as tf.Scalar, [embeddings!]);
    const dE = await grads[embeddings!.name]!.data();
    expect(Array.from(dE.slice(0, 5))).toEqual([0, 0, 0, 0, 0]); // class 0: no sample
    expect(Array.from(dE.slice(5)).some((v) => v !== 0)).toBe(true); // class 1: sample 0 only
    tf.dispose([phi, labels, w, scores, linear, withClass1, value, ...Object.values(grads)]);
    model.dispose();
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
    await expectSameBits(k!, dense.getWeights()[0]!, 'kernel');
    await expectSameBits(b!, dense.getWeights()[1]!, 'bias');
    await expectSameBits(e!, embedding.getWeights()[0]!, 'embeddings');
  });

  it('refuses a class count that is not a positive integer, and leaves no tensors behind in training', () => {
    expect(() => projectionHead({ numClasses: 0 })).toThrow(/numClasses must be a positive integer/);
    const layer = projectionHead({ numClasses: 3 });
    const phi = tf.randomNormal([4, 9], 0, 1, 'float32', 47);
    const labels = tf.tensor2d([0, 1, 2, 1], [4, 1], 'int32');
    expectNoTensorsLeftByTraining(layer, [phi, labels]);
    tf.dispose([phi, labels]);
    layer.dispose();
  });
});

/**
 * The projection head (./projection-head.ts) on WebGPU (lavapipe here), where it runs our kernels
 * (../backends/kernels/projection.ts): scores and every gradient a critic's training takes, the
 * penalty's double backward included, against the same layer with our kernels off (the four layers'
 * operations on the same device) within float32 rounding (the sums run in another order); the
 * programs it dispatches; labels outside the embedding; no tensors left behind. Skipped, with the
 * reason printed, without a WebGPU adapter. What does not depend on the backend (serialisation, the
 * initial weights) is tested in ./projection-head.cpu.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { tf, type tfl } from '../backends/tf';
import { maxRelDiff, webgpuSkipReason, withOurKernelsOff } from '../backends/kernels/test-support';
import { fastDispatchStats } from '../backends/index';
import { expectSameBits } from './layer-test-support';
import { expectHeadLeavesNoTensors, HEAD_CASES, type HeadCase, headInputs, headModel, headResults, setSameWeights, weightsByRole } from './projection-head-test-support';

const reason = await webgpuSkipReason('projection head tests');

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
      const theirs = withOurKernelsOff(() => headResults(model, phi, labels, w));
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
    const a = withOurKernelsOff(() => headResults(ours, phi, labels, w));
    const b = withOurKernelsOff(() => headResults(theirs, phi, labels, w));
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
    // Measured on lavapipe: 52 against 104 (all of headResults: seven forward passes, four backward, two double).
    expect(wo.dispatches).toBeLessThanOrEqual(wt.dispatches * 0.55);
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
    // Sample 0 has class 1; samples 1 and 2 have none (2 and -1 are outside [0, 2)).
    const row1 = tf.slice(embeddings!, [1, 0], [1, 5]);
    const perSample = tf.concat([tf.add(tf.transpose(kernel!), row1), tf.tile(tf.transpose(kernel!), [2, 1])]); // [3, 5]
    const expected = tf.add(tf.sum(tf.mul(phi, perSample), 1, true), bias!);
    expect(await maxRelDiff(expected, scores)).toBeLessThan(1e-6);
    const vars = [embeddings!];
    const { grads, value } = tf.variableGrads(() => tf.sum(tf.mul(model.apply([phi, labels], { training: true }) as tf.Tensor, w)) as tf.Scalar, vars);
    const dE = grads[embeddings!.name]!;
    const [dE0, dE1] = [tf.slice(dE, [0, 0], [1, 5]), tf.slice(dE, [1, 0], [1, 5])];
    expect(Array.from(await dE0.data())).toEqual([0, 0, 0, 0, 0]); // class 0: no sample
    const onlySample0 = tf.mul(tf.slice(w, [0, 0], [1, 1]), tf.slice(phi, [0, 0], [1, 5])); // class 1: w_0 phi_0 alone
    expect(await maxRelDiff(onlySample0, dE1)).toBeLessThan(1e-6);
    const dphi = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(model.apply([x, labels], { training: true }) as tf.Tensor, w)))(phi);
    expect(await maxRelDiff(tf.mul(w, perSample), dphi)).toBeLessThan(1e-6); // w_b (w + E[y_b]), E[y] = 0 outside
    tf.dispose([phi, labels, w, scores, row1, perSample, expected, value, dE, dE0, dE1, onlySample0, dphi]);
    model.dispose();
  });

  it('leaves no tensors behind in training on its kernels', () => {
    expectHeadLeavesNoTensors();
  });
});

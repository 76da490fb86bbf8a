/**
 * Conv2DTransposeTanh (./conv-transpose-tanh.ts) on the processor's backends, the pure-JS one and
 * WebAssembly: Conv2DTranspose's own call and then tfjs's tanh, so the same bits as the two layers,
 * output and gradients (x, kernel, bias). Its own file: the tfjs backend is process-wide.
 */
import { describe, it } from 'vitest';
import { tf } from '../backends/tf';
import { initBackend } from '../backends';
import { expectSameBits, trainLayers } from './layer-test-support';
import { CASES, layerPair } from './conv-transpose-tanh-test-support';

describe.each(['cpu', 'wasm'] as const)('transposed convolution and its tanh on %s', (backend) => {
  it.each(CASES.map((c) => [JSON.stringify(c), c] as const))('at %s: the same bits as the two layers', async (_, c) => {
    await initBackend(backend);
    const x = tf.randomNormal(c.x, 0, 1, 'float32', 11);
    const { fused, separate, dispose } = layerPair(c);
    const w = tf.onesLike(separate[1]!.apply(separate[0]!.apply(x)) as tf.Tensor);
    const [a, b] = [trainLayers(fused, x, w), trainLayers(separate, x, w)];
    await expectSameBits(a.y, b.y, `${backend} output`);
    for (const [i, name] of ['dx', 'dkernel', 'dbias'].entries()) await expectSameBits(a.grads[i]!, b.grads[i]!, `${backend} ${name}`);
    tf.dispose([x, w, a.y, b.y, ...a.grads, ...b.grads]);
    dispose();
  });
});

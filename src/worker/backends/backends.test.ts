import { afterEach, describe, expect, it } from 'vitest';
import { tf } from './tf';
import { applyTfjsFlags, describeAdapter, initBackend } from './index';

describe('backend selection', () => {
  afterEach(() => {
    delete process.env.GAN_AUGMENT_BACKEND;
  });

  it('forced cpu gives the pure-JS backend with a warning', async () => {
    const info = await initBackend('cpu');
    expect(info.name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(info.device).toMatch(/CPU/);
    expect(info.warning).toMatch(/slow/);
    expect(info.isGpu).toBe(false);
  });

  it('GAN_AUGMENT_BACKEND overrides the argument', async () => {
    process.env.GAN_AUGMENT_BACKEND = 'cpu';
    const info = await initBackend('webgpu');
    expect(info.name).toBe('cpu');
    process.env.GAN_AUGMENT_BACKEND = 'metal';
    await expect(initBackend('auto')).rejects.toThrow(/GAN_AUGMENT_BACKEND/);
  });

  it('tensorflow (tfjs-node) is refused in words when not installed', async () => {
    await expect(initBackend('tensorflow')).rejects.toThrow(/TensorFlow backend is not installed/);
    await initBackend('cpu');
  });

  it('describes adapters in words', () => {
    expect(describeAdapter({ vendor: 'mesa', architecture: 'software', description: 'llvmpipe: Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6) 0.0.1', isFallbackAdapter: true })).toEqual({
      device: 'CPU: llvmpipe/lavapipe (Mesa 25.0.7) via WebGPU',
      isGpu: false,
    });
    expect(describeAdapter({ vendor: 'nvidia', architecture: 'hopper', description: 'NVIDIA H200' }).device).toMatch(/^GPU: NVIDIA H200 \(.+\), WebGPU$/);
  });
});

describe('gradients', () => {
  it('tfjs-core gradients are registered (through tfjs-layers) and comparisons have zero gradients', async () => {
    await initBackend('cpu');
    for (const k of ['Conv2D', 'Conv2DBackpropInput', 'LeakyRelu', 'Select', 'Greater', 'Less', 'Equal']) {
      expect(tf.getGradient(k), k).toBeDefined();
    }
  });

  it('double backward through leakyRelu and maximum (second derivative of a piecewise-linear net)', async () => {
    await initBackend('cpu');
    const w = tf.variable(tf.tensor1d([0.5, -1.5, 2]));
    const x0 = tf.tensor1d([1, 2, -3]);
    // f(w) = sum((d/dx sum(leakyRelu(w*x)^2 ... ) )): use the gradient norm w.r.t. x, as in WGAN-GP.
    const f = () =>
      tf.tidy(() => {
        const gx = tf.grad((x: tf.Tensor) => tf.sum(tf.maximum(tf.leakyRelu(tf.mul(w, x), 0.2), tf.mul(-10, x))))(x0);
        return tf.sum(tf.square(gx)) as tf.Scalar;
      });
    const { grads } = tf.variableGrads(f, [w]);
    // Elements 0 and 1: the max picks leakyRelu(w x): g = slope * w, d(g^2)/dw = 2 slope^2 w
    // (slope 1 for w x > 0, 0.2 otherwise). Element 2: the max picks -10 x: g = -10, derivative 0.
    const expected = [2 * 1 * 0.5, 2 * 0.04 * -1.5, 0];
    const got = Array.from(await grads[w.name]!.data());
    got.forEach((g, i) => expect(g).toBeCloseTo(expected[i]!, 5));
    tf.dispose([w, x0, grads[w.name]!]);
  });
  it('GAN_AUGMENT_TFJS_FLAGS sets tfjs flags and refuses unknown names and bad values in words', () => {
    const before = tf.env().getBool('DEPRECATION_WARNINGS_ENABLED');
    applyTfjsFlags(' DEPRECATION_WARNINGS_ENABLED = true ,');
    expect(tf.env().getBool('DEPRECATION_WARNINGS_ENABLED')).toBe(true);
    applyTfjsFlags(`DEPRECATION_WARNINGS_ENABLED=${before}`);
    expect(tf.env().getBool('DEPRECATION_WARNINGS_ENABLED')).toBe(before);
    expect(() => applyTfjsFlags('NO_SUCH_FLAG=1')).toThrow(/no flag named NO_SUCH_FLAG/);
    expect(() => applyTfjsFlags('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE=lots')).toThrow(/is not NAME=number/);
    expect(() => applyTfjsFlags('=3')).toThrow(/is not NAME=number/);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { tf } from './tf';
import { type AutoStarters, type BackendInfo, BackendUnavailableError, applyTfjsFlags, chooseAutoBackend, dawnFlags, describeAdapter, initBackend } from './index';

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

/**
 * auto's order and messages, with starters that succeed or fail as each case says (the real starters
 * are exercised by the tests above and by every training test; this machine has no real GPU, so the
 * "GPU found, WebGPU failed" branch can only be reached this way).
 */
describe('auto backend order', () => {
  const info = (name: BackendInfo['name'], device: string, warning?: string): BackendInfo => ({ name, device, isGpu: name !== 'wasm' && name !== 'cpu', ...(warning ? { warning } : {}) });
  const unavailable = (why: string) => async (): Promise<never> => {
    throw new BackendUnavailableError(why);
  };
  /** Every starter fails with a reason unless the case overrides it; `calls` records the order tried. */
  function starters(overrides: Partial<AutoStarters>): { start: AutoStarters; calls: string[] } {
    const calls: string[] = [];
    const base: AutoStarters = {
      tensorflow: unavailable('The TensorFlow backend is not installed or does not work (tfjs-node: missing).'),
      probeWebGpu: unavailable('WebGPU found no graphics adapter on this computer.'),
      webgpu: unavailable('WebGPU failed to start.'),
      wasm: unavailable('WebAssembly failed to start (no memory).'),
      cpu: async () => info('cpu', 'CPU (pure JavaScript — very slow)', 'Training runs on the CPU in pure JavaScript: very slow.'),
    };
    const merged = { ...base, ...overrides };
    const start = Object.fromEntries(
      Object.entries(merged).map(([k, f]) => [k, async () => {
        calls.push(k);
        return (f as () => Promise<unknown>)();
      }]),
    ) as unknown as AutoStarters;
    return { start, calls };
  }
  const H200 = { device: 'GPU: NVIDIA H200 (Vulkan), WebGPU', isGpu: true };

  it('a real GPU whose WebGPU start fails: WebAssembly, with a warning that names the card and only WebGPU\'s reason', async () => {
    const { start, calls } = starters({
      probeWebGpu: async () => H200,
      webgpu: unavailable('WebGPU failed to start (the device was lost).'),
      wasm: async () => info('wasm', 'CPU: WebAssembly (SIMD), 1 thread', 'No GPU was found: training runs on the processor.'),
    });
    const chosen = await chooseAutoBackend(start);
    expect(calls).toEqual(['tensorflow', 'probeWebGpu', 'webgpu', 'wasm']);
    expect(chosen.name).toBe('wasm');
    expect(chosen.warning).toBe(
      "This computer's graphics card (NVIDIA H200 (Vulkan)) was found but could not be used: WebGPU failed to start (the device was lost). " +
        'Training runs on the processor (WebAssembly) instead, which is much slower. Updating the graphics driver may help.',
    );
    expect(chosen.warning).not.toMatch(/No GPU was found|TensorFlow/);
  });

  it('a real GPU whose WebGPU fails, and no WebAssembly: pure JavaScript, WebGPU not tried twice', async () => {
    const { start, calls } = starters({ probeWebGpu: async () => H200, webgpu: unavailable('WebGPU failed to start (the device was lost).') });
    const cpu = await chooseAutoBackend(start);
    expect(calls).toEqual(['tensorflow', 'probeWebGpu', 'webgpu', 'wasm', 'cpu']);
    expect(cpu.name).toBe('cpu');
    expect(cpu.warning?.match(/the device was lost/g)).toHaveLength(1);
  });

  it('a real GPU that starts: WebGPU, WebAssembly not even loaded', async () => {
    const { start, calls } = starters({ probeWebGpu: async () => H200, webgpu: async () => info('webgpu', H200.device) });
    expect(await chooseAutoBackend(start)).toEqual(info('webgpu', H200.device));
    expect(calls).toEqual(['tensorflow', 'probeWebGpu', 'webgpu']);
  });

  it('tfjs-node when it works, before anything else', async () => {
    const tfNode = info('tensorflow', 'GPU: NVIDIA CUDA, TensorFlow (tfjs-node-gpu)');
    const { start, calls } = starters({ tensorflow: async () => tfNode });
    expect(await chooseAutoBackend(start)).toBe(tfNode);
    expect(calls).toEqual(['tensorflow']);
  });

  it('a software adapter only: WebAssembly with its own warning, WebGPU not started', async () => {
    const wasm = info('wasm', 'CPU: WebAssembly (SIMD), 1 thread', 'No GPU was found: training runs on the processor.');
    const { start, calls } = starters({ probeWebGpu: async () => ({ device: 'CPU: llvmpipe/lavapipe via WebGPU', isGpu: false }), wasm: async () => wasm });
    expect(await chooseAutoBackend(start)).toBe(wasm);
    expect(calls).toEqual(['tensorflow', 'probeWebGpu', 'wasm']);
  });

  it('WebAssembly failing: WebGPU on the software adapter; then pure JavaScript with every reason', async () => {
    const lavapipe = { device: 'CPU: llvmpipe/lavapipe via WebGPU', isGpu: false };
    const software = info('webgpu', lavapipe.device, 'No GPU was found: WebGPU runs on the CPU through a software driver.');
    const first = starters({ probeWebGpu: async () => lavapipe, webgpu: async () => software });
    const chosen = await chooseAutoBackend(first.start);
    expect(chosen.name).toBe('webgpu');
    expect(chosen.warning).toBe('No GPU was found: WebGPU runs on the CPU through a software driver. (WebAssembly failed to start (no memory).)');
    expect(first.calls).toEqual(['tensorflow', 'probeWebGpu', 'wasm', 'webgpu']);

    const last = starters({});
    const cpu = await chooseAutoBackend(last.start);
    expect(last.calls).toEqual(['tensorflow', 'probeWebGpu', 'wasm', 'cpu']);
    expect(cpu.name).toBe('cpu');
    expect(cpu.warning).toMatch(/^Training runs on the CPU in pure JavaScript: very slow\. \(No faster backend: The TensorFlow backend .* WebGPU found no graphics adapter .* WebAssembly failed to start \(no memory\)\.\)$/);
  });

  it('an error that is not "unavailable" (a bad setting) stops auto instead of falling back', async () => {
    const { start, calls } = starters({
      probeWebGpu: async () => H200,
      webgpu: async () => {
        throw new Error('GAN_AUGMENT_TFJS_FLAGS: TensorFlow.js has no flag named NOPE.');
      },
    });
    await expect(chooseAutoBackend(start)).rejects.toThrow(/GAN_AUGMENT_TFJS_FLAGS/);
    expect(calls).toEqual(['tensorflow', 'probeWebGpu', 'webgpu']);
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
  it('GAN_AUGMENT_DAWN_FLAGS hands only Dawn feature switches to Dawn', () => {
    expect(dawnFlags('')).toEqual([]);
    expect(dawnFlags(' disable-dawn-features=timestamp_quantization  enable-dawn-features=a_b,c ')).toEqual([
      'disable-dawn-features=timestamp_quantization',
      'enable-dawn-features=a_b,c',
    ]);
    expect(() => dawnFlags('backend=null')).toThrow(/GAN_AUGMENT_DAWN_FLAGS: "backend=null" is not/);
    expect(() => dawnFlags('disable-dawn-features=')).toThrow(/is not enable-dawn-features/);
  });
});

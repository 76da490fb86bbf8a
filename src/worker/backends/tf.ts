/**
 * The one place the worker imports TensorFlow.js from.
 *
 * - `@tensorflow/tfjs-core`'s Node bundle (dist/tf-core.node.js, what Node resolves) registers NO
 *   gradients and no chained ops (`t.sum()` does not exist: use `tf.sum(t)`). Importing
 *   `@tensorflow/tfjs-layers` registers tfjs-core's gradients (its bundles include
 *   register_all_gradients; verified by `gradients.test.ts`).
 * - tfjs has no gradients for comparison kernels (Greater, Less, ...). The WGAN-GP double backward
 *   goes through LeakyReLU's gradient, which builds `where(greater(x, 0), ...)`; without a
 *   gradient for Greater the second backward pass throws. We register zero gradients for them
 *   (their outputs are piecewise constant, so zero is the exact derivative almost everywhere).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

// Production mode: no per-op debug checks, and no console banner urging tfjs-node on every start.
tf.enableProdMode();

/**
 * Kernels whose output is boolean (piecewise constant in the inputs): the derivative is 0.
 * Value: the kernel's input names, which a gradient function must return.
 */
export const ZERO_GRADIENT_KERNELS: Record<string, readonly string[]> = {
  Greater: ['a', 'b'],
  GreaterEqual: ['a', 'b'],
  Less: ['a', 'b'],
  LessEqual: ['a', 'b'],
  Equal: ['a', 'b'],
  NotEqual: ['a', 'b'],
  LogicalAnd: ['a', 'b'],
  LogicalOr: ['a', 'b'],
  LogicalNot: ['x'],
  IsNan: ['x'],
};

let registered = false;

/** Registers zero gradients for the kernels above that have none. Idempotent; returns the added names. */
export function registerZeroGradients(): string[] {
  const added: string[] = [];
  if (registered) return added;
  for (const [kernelName, inputs] of Object.entries(ZERO_GRADIENT_KERNELS)) {
    if (tf.getGradient(kernelName) != null) continue;
    tf.registerGradient({
      kernelName,
      inputsToSave: [...inputs],
      gradFunc: (_dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const out: Record<string, () => tf.Tensor> = {};
        inputs.forEach((name, i) => {
          out[name] = () => tf.zerosLike(saved[i]!);
        });
        return out;
      },
    });
    added.push(kernelName);
  }
  registered = true;
  return added;
}

/**
 * tfjs-core's gradients of Sum and Mean build `ones(x.shape)` to broadcast dy back to x's shape.
 * `ones` fills a JavaScript array of x's full size on the CPU, which WebGPU then uploads: for batch
 * norm's statistics over [B, H, W] that is the size of a whole activation (67 MB at batch 256,
 * 32x32x64), several times per training step. On an H200 this was most of a DCGAN-64 step (a V8
 * profile: makeOnesTypedArray 4.2 s and buffer creation 1.5 s of 12 s; docs/PERFORMANCE.md).
 * These gradients are tfjs's formulas with `fill(x.shape, 1)` instead, which fills on the device: the
 * same values, and a cheap second derivative (Mul's gradient is a sum over the broadcast axes;
 * tf.broadcastTo's Tile gradient is a slice and an add per repetition, and fails above rank 4, and
 * the WGAN-GP penalty differentiates through these). On WebGPU, where a training step is bound by
 * dispatching, dy (divided by n for Mean first: the same float32 values) is broadcast by one Tile
 * program with a custom gradient that sums back over the axes: one program for a Sum's gradient
 * instead of two, two for a Mean's instead of three (a cWGAN-GP step dispatched 4% fewer). The
 * WebAssembly backend's Tile is slower than its broadcasting multiply, so elsewhere the fill stays.
 * Not `onesLike(x)`: that op takes x as an input, so a second backward pass (the penalty's)
 * sent zeros back through it into whatever computed x, for nothing (./gradients.ts says more).
 */
export function registerBroadcastReduceGradients(): void {
  for (const kernelName of ['Sum', 'Mean'] as const) {
    tf.registerGradient({
      kernelName,
      inputsToSave: ['x'],
      gradFunc: (dy, saved, attrs) => {
        const [x] = saved as [tf.Tensor];
        const axes = tf.util.parseAxisParam((attrs as unknown as { axis: number | number[] }).axis, x.shape);
        const shape = x.shape.slice();
        for (const a of axes) shape[a] = 1;
        const n = axes.reduce((k, a) => k * x.shape[a]!, 1);
        const kept = () => tf.reshape(dy as tf.Tensor, shape);
        // (tfjs-backend-webgpu's Tile reads ranks of 5 and more back to the CPU, which Node cannot.)
        if (tf.getBackend() === 'webgpu' && x.rank <= 4) {
          return { x: () => broadcastOver(kernelName === 'Sum' ? kept() : tf.div(kept(), n), x.shape, axes) };
        }
        const broadcast = () => tf.mul(kept(), tf.fill(x.shape, 1));
        return { x: kernelName === 'Sum' ? broadcast : () => tf.div(broadcast(), n) };
      },
    });
  }
}

/** `y` (size 1 on `axes`) broadcast to `shape` in one program; its gradient sums back over `axes`. */
function broadcastOver(y: tf.Tensor, shape: number[], axes: number[]): tf.Tensor {
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => ({
    value: tf.broadcastTo(args[0] as tf.Tensor, shape),
    gradFunc: (g: tf.Tensor) => tf.sum(g, axes, true),
  }));
  return op(y);
}

registerZeroGradients();
registerBroadcastReduceGradients();

export { tf, tfl };

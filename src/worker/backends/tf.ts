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

registerZeroGradients();

export { tf, tfl };

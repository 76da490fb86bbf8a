/**
 * Identity (tf.clone) for tfjs-backend-wasm that shares the input's data, as tfjs-backend-cpu's
 * Identity and wasm's own Reshape do, instead of copying it. tfjs clones every input that an op saves
 * for its backward pass, so with the backend's copying Identity a training step copied each conv
 * layer's activations and weights once more (363 copies per DCGAN-32 step, about 3% of it) and held
 * both. Values never change in place in tfjs, so sharing is safe; the backend frees the data when the
 * last tensor that shares it is disposed (its reference count).
 */
import type { tf } from '../tf';

interface RefCountingBackend {
  incRef(dataId: tf.DataId): void;
}

export const identityKernel: tf.KernelFunc = ({ inputs, backend }) => {
  const x = inputs.x as tf.TensorInfo;
  (backend as unknown as RefCountingBackend).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
};

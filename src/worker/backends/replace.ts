/**
 * Replaces a tfjs backend's instance with a fresh one from the factory its package registered, for
 * an instance that can no longer be used: a WebAssembly module whose heap ran out, a WebGPU device
 * that was lost. Every tensor the old instance held is gone with it; the next setBackend(name)
 * creates a new instance (a new module, a new device). Kernels registered for the name stay.
 */
import { tf } from './tf';

/**
 * The backend instance already created under `name`, or null. (tf.findBackend would start one as a
 * side effect: tfjs-core 4.22's engine registry is read instead.)
 */
export function existingBackend(name: string): object | null {
  const registry = (tf.engine() as unknown as { registry: Record<string, object | undefined> }).registry;
  return registry[name] ?? null;
}

/** `factory`: the one to register for the new instance (default: the one registered now). */
export function replaceBackendInstance(name: string, priority: number, factory = tf.findBackendFactory(name)): void {
  if (!factory) return;
  const instance = existingBackend(name) as { dispose(): void } | null;
  if (instance) {
    // A broken instance can throw while it frees itself: it is being dropped anyway.
    const dispose = instance.dispose.bind(instance);
    instance.dispose = () => {
      try {
        dispose();
      } catch {
        /* the whole instance goes */
      }
    };
  }
  tf.removeBackend(name);
  tf.registerBackend(name, factory, priority);
}

/**
 * Faults provoked on purpose, so that end-to-end tests can show what a person sees when the GPU is
 * lost or the WebAssembly heap is full, through the real failure paths (test/e2e/faults.test.ts).
 * Off unless GAN_AUGMENT_TEST_FAULTS is set, to a comma-separated list of <fault>@<step>:
 *   lose-gpu@N   on WebGPU: destroys the device at the start of training step N, as a driver reset
 *                or a removed GPU does; the step then fails as a lost device's steps do.
 *   heap-full@N  on WebAssembly: asks for a tensor larger than the heap's tensor space at the start of
 *                step N, which the backend's allocation guard refuses as it refuses any tensor that
 *                does not fit (WasmHeapFullError).
 * Each fires at most once per worker process (so that Resume, in the same process, gets past it) and
 * only on its own backend. Step N counts from the start of the run, resumed runs included.
 */
import { tf } from '../backends/tf';

export type FaultKind = 'lose-gpu' | 'heap-full';

export interface Fault {
  kind: FaultKind;
  step: number;
}

/** Parses GAN_AUGMENT_TEST_FAULTS; a malformed entry is an error in words (a test set it wrongly). */
export function parseFaults(spec: string | undefined): Fault[] {
  if (!spec) return [];
  return spec.split(',').map((entry) => {
    const m = /^(lose-gpu|heap-full)@([1-9]\d*)$/.exec(entry.trim());
    if (!m) throw new Error(`GAN_AUGMENT_TEST_FAULTS: "${entry}" is not lose-gpu@<step> or heap-full@<step>`);
    return { kind: m[1] as FaultKind, step: Number(m[2]) };
  });
}

let pending: Fault[] | null = null;

/** Floats in a tensor no WebAssembly heap can hold (4 GiB of float32 and more; nothing is written). */
const TOO_MANY_FLOATS = 2 ** 30;

/** Called at the start of each training step (inside the trainer's device guard). */
export function injectFaults(step: number): void {
  pending ??= parseFaults(process.env.GAN_AUGMENT_TEST_FAULTS);
  if (pending.length === 0) return;
  const backend = tf.getBackend();
  const due = pending.find((f) => f.step === step && (f.kind === 'lose-gpu' ? backend === 'webgpu' : backend === 'wasm'));
  if (!due) return;
  pending = pending.filter((f) => f !== due);
  if (due.kind === 'lose-gpu') {
    (tf.backend() as unknown as { device: { destroy(): void } }).device.destroy();
    return;
  }
  // Fill allocates on the heap first (tf.zeros would first make the values in JavaScript): the guard refuses.
  tf.fill([TOO_MANY_FLOATS], 0).dispose();
}

/** Tests: reads GAN_AUGMENT_TEST_FAULTS again at the next step (and forgets which faults fired). */
export function resetFaults(): void {
  pending = null;
}

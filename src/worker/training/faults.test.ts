/**
 * Provoked faults (./faults.ts): the spec's parsing, and a heap-full fault on WebAssembly taking the
 * real path (the allocation guard, the trainer's out-of-memory error in words, a fresh module next
 * time), once. The lost GPU's path is tested in ./webgpu.slow.test.ts and end to end in
 * test/e2e/faults.test.ts. Its own file: the tfjs backend is process-wide.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { tf } from '../backends/tf';
import { initBackend } from '../backends';
import { TENSOR_HEAP_LIMIT } from '../backends/wasm';
import { makeConfig } from '../models/config';
import { DeviceOutOfMemoryError } from './errors';
import { parseFaults, resetFaults } from './faults';
import { createTrainer } from './trainer';
import { randomDataset } from '../../../test/helpers/training';

afterEach(() => {
  delete process.env.GAN_AUGMENT_TEST_FAULTS;
  resetFaults();
});

describe('provoked faults', () => {
  it('reads GAN_AUGMENT_TEST_FAULTS, and says in words what it cannot read', () => {
    expect(parseFaults(undefined)).toEqual([]);
    expect(parseFaults('')).toEqual([]);
    expect(parseFaults('lose-gpu@3, heap-full@12')).toEqual([
      { kind: 'lose-gpu', step: 3 },
      { kind: 'heap-full', step: 12 },
    ]);
    for (const bad of ['lose-gpu', 'heap-full@0', 'melt@2', 'lose-gpu@2;heap-full@3']) {
      expect(() => parseFaults(bad)).toThrow(/^GAN_AUGMENT_TEST_FAULTS: ".+" is not lose-gpu@<step> or heap-full@<step>$/);
    }
  });

  it('heap-full on WebAssembly fails its step as a full heap does, once; a lose-gpu fault does not fire there', async () => {
    await initBackend('wasm');
    const heap = (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array; _malloc(n: number): number } }).wasm;
    // The guard refuses what could never fit without asking malloc (whose size is 32 bits): the heap does not grow.
    const heapBytes = heap.HEAPU8.length;
    expect(() => heap._malloc(TENSOR_HEAP_LIMIT + 1)).toThrow(/^The WebAssembly heap is full: \d+ bytes could not be allocated\.$/);
    expect(heap.HEAPU8.length).toBe(heapBytes);

    process.env.GAN_AUGMENT_TEST_FAULTS = 'lose-gpu@1,heap-full@2';
    const ds = randomDataset(3, [0, 0, 0, 0]);
    const config = makeConfig('dcgan', 32, { preset: 'tiny', batchSize: 4, numClasses: 1 });
    const t = createTrainer(config, ds, { seed: 2 });
    await t.step(); // lose-gpu@1: not on this backend
    const atStart = tf.memory().numTensors; // after the first step has made Adam's moments
    const err = await t.step().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceOutOfMemoryError);
    expect((err as Error).message).toMatch(/^Training ran out of memory\. On the processor \(WebAssembly\) it can use at most 4 GB/);
    expect(tf.memory().numTensors).toBe(atStart); // the failed step left nothing behind
    try {
      t.dispose();
    } catch {
      /* the module is marked broken; a task's cleanup keeps the first error */
    }

    // A resumed run in the same process gets a fresh module and passes step 2.
    await initBackend('wasm');
    const t2 = createTrainer(config, ds, { seed: 2 });
    await t2.step();
    const m = await t2.step();
    expect(m.step).toBe(2);
    t2.dispose();
  }, 120_000);
});

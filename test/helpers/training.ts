/** Training-step helpers for tests on either backend. */
import type { Trainer } from '../../src/worker/training/trainer';
import { datasetFromPixels, type Dataset } from '../../src/worker/training/dataset';
import { Prng } from '../../src/worker/training/rng';

/** One random 32 x 32 RGB image per label (pixels from Prng(seed)), as a training dataset. */
export function randomDataset(seed: number, labels: readonly number[]): Dataset {
  const rng = new Prng(seed);
  return datasetFromPixels(Uint8Array.from({ length: labels.length * 32 * 32 * 3 }, () => rng.int(256)), Int32Array.from(labels), 32, 3);
}

/** Takes `steps` steps (reading every loss), disposes the trainer, returns [d, g] of each step in order. */
export async function stepLosses(trainer: Trainer, steps: number): Promise<Array<number | null>> {
  const out: Array<number | null> = [];
  for (let i = 0; i < steps; i++) {
    const m = await trainer.step({ forceRead: true });
    out.push(m.dLoss, m.gLoss);
  }
  trainer.dispose();
  return out;
}

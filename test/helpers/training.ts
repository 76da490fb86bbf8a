/** Training-step helpers for tests on either backend. */
import type { Trainer } from '../../src/worker/training/trainer';

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

/** What a new training run takes unless the person says otherwise: in the app's form and the CLI alike. */

/** Total steps of a new run. */
export const DEFAULT_TRAINING_STEPS = 5000;

/** DiffAugment is recommended for a class with this many images or fewer. */
export const DIFFAUGMENT_SUGGESTED_MAX = 500;

/** Whether DiffAugment is worth switching on for these class sizes (images per chosen class). */
export function suggestDiffAugment(counts: readonly number[]): boolean {
  return counts.length > 0 && Math.min(...counts) <= DIFFAUGMENT_SUGGESTED_MAX;
}

/**
 * Images per step where the person does not choose: 4 for the tiny preset (tests, smoke runs), 64 as
 * the PyTorch reference DCGAN (../shared/bench), 32 at 128 px (a 128 px step's activations are 4x a
 * 64 px one's). The worker's model config, the form and the run's record all take it from here.
 */
export function presetBatch(preset: 'default' | 'tiny', resolution: number): number {
  if (preset === 'tiny') return 4;
  return resolution === 128 ? 32 : 64;
}

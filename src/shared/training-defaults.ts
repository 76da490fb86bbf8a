/** What a new training run takes unless the person says otherwise: in the app's form and the CLI alike. */

/** Total steps of a new run. */
export const DEFAULT_TRAINING_STEPS = 5000;

/** DiffAugment is recommended for a class with this many images or fewer. */
export const DIFFAUGMENT_SUGGESTED_MAX = 500;

/** Whether DiffAugment is worth switching on for these class sizes (images per chosen class). */
export function suggestDiffAugment(counts: readonly number[]): boolean {
  return counts.length > 0 && Math.min(...counts) <= DIFFAUGMENT_SUGGESTED_MAX;
}

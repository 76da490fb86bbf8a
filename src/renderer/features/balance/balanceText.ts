/** Plain words and form rules for the Balance screen. Pure. */
import type { CallOutput } from '../../../shared/contract';

export type BalanceView = CallOutput<'balance.get'>;
export type SplitsView = CallOutput<'splits.get'>;
export type TargetMode = BalanceView['target']['mode'];

/** The smallest number of images a class should have for GAN training to work reliably (matches shared/balance). */
export const MIN_IMAGES_FOR_GAN = 50;

export function formatRatio(ratio: number): string {
  if (ratio >= 100) return Math.round(ratio).toLocaleString('en');
  return (Math.round(ratio * 10) / 10).toLocaleString('en', { maximumFractionDigits: 1 });
}

/** "The largest class has 53.9× as many images as the smallest." */
export function ratioSentence(balance: Pick<BalanceView, 'imbalanceRatio' | 'classes'>): string {
  const n = balance.classes.length;
  if (n === 0) return 'There are no images yet.';
  if (n === 1) return 'There is only one class so far, so there is nothing to balance yet.';
  if (balance.imbalanceRatio === null) return 'At least one class has no images yet.';
  if (balance.imbalanceRatio < 1.05) return 'All classes have about the same number of images.';
  const largest = balance.classes[0]!;
  const smallest = balance.classes[n - 1]!;
  return `The largest class (${largest.name}) has ${formatRatio(balance.imbalanceRatio)}× as many images as the smallest (${smallest.name}).`;
}

/** A share of all images: "12.3%", "under 0.1%". */
export function formatShare(share: number): string {
  if (share > 0 && share < 0.001) return 'under 0.1%';
  return `${(Math.round(share * 1000) / 10).toLocaleString('en', { maximumFractionDigits: 1 })}%`;
}

export function targetSentence(balance: BalanceView): string {
  const t = balance.targetCount.toLocaleString('en');
  const what =
    balance.target.mode === 'max'
      ? `To bring every class up to the largest (${t} images)`
      : balance.target.mode === 'median'
        ? `To bring every class up to the median class size (${t} images)`
        : `To bring every class up to ${t} images`;
  if (balance.totalNeeded === 0) return `${what}, no generated images are needed.`;
  return `${what}, ${balance.totalNeeded.toLocaleString('en')} generated ${balance.totalNeeded === 1 ? 'image is' : 'images are'} needed in total.`;
}

export interface SplitForm {
  seed: number | string;
  train: number | string;
  val: number | string;
  test: number | string;
}

export type SplitFormErrors = Partial<Record<keyof SplitForm | 'sum', string>>;

const num = (v: number | string): number => (typeof v === 'number' ? v : v.trim() === '' ? Number.NaN : Number(v));

/** Checks the "Change split" form; percentages are whole or decimal numbers that must add up to 100. */
export function validateSplitForm(form: SplitForm): SplitFormErrors {
  const errors: SplitFormErrors = {};
  const seed = num(form.seed);
  if (!Number.isInteger(seed) || seed < 0 || seed > 2 ** 31 - 1) errors.seed = 'Use a whole number from 0 to 2,147,483,647.';
  const parts = { train: num(form.train), val: num(form.val), test: num(form.test) };
  for (const key of ['train', 'val', 'test'] as const) {
    const v = parts[key];
    if (!Number.isFinite(v)) errors[key] = 'Enter a percentage.';
    else if (v < 0 || v > 100) errors[key] = 'Use a percentage from 0 to 100.';
  }
  if (!errors.train && parts.train <= 0) errors.train = 'Training needs a share above 0%.';
  if (!errors.train && !errors.val && !errors.test) {
    const sum = parts.train + parts.val + parts.test;
    if (Math.abs(sum - 100) > 1e-6) {
      errors.sum = `The three shares add up to ${Math.round(sum * 100) / 100}%; they must add up to 100%.`;
    }
  }
  return errors;
}

/** The form's values as the `splits.set` input (fractions). Call only when valid. */
export function splitInput(form: SplitForm): { seed: number; ratios: { train: number; val: number; test: number } } {
  const train = num(form.train) / 100;
  const val = num(form.val) / 100;
  // The test share takes the rounding remainder so the three add up exactly.
  const test = Math.max(0, 1 - train - val);
  return { seed: num(form.seed), ratios: { train, val, test } };
}

export function toPercent(fraction: number): number {
  return Math.round(fraction * 1000) / 10;
}

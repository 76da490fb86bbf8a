/**
 * Class balance: how lopsided the classes are and how many synthetic images each class needs to
 * reach a target. Pure; the UI and the CLI show the same numbers.
 */
export type BalanceTarget = { mode: 'max' } | { mode: 'median' } | { mode: 'custom'; value: number };

/** Below this many real images a GAN rarely learns a class well (the seed study's rare classes had a few hundred). */
export const MIN_IMAGES_FOR_GAN = 50;

export interface ClassBalance {
  name: string;
  count: number;
  share: number; // fraction of all images, 0..1
  target: number;
  needed: number; // synthetic images to reach the target; 0 when already there
  tooSmall: boolean; // fewer than MIN_IMAGES_FOR_GAN real images
}

export interface Balance {
  classes: ClassBalance[]; // largest first, then by name
  imbalanceRatio: number | null; // largest / smallest; null with no classes or an empty class
  targetCount: number;
  totalNeeded: number;
  target: BalanceTarget;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : Math.round((s[mid - 1]! + s[mid]!) / 2);
}

export function targetCount(counts: readonly number[], target: BalanceTarget): number {
  switch (target.mode) {
    case 'max':
      return counts.length === 0 ? 0 : Math.max(...counts);
    case 'median':
      return median(counts);
    case 'custom':
      return Math.max(0, Math.floor(target.value));
  }
}

export function computeBalance(classes: readonly { name: string; count: number }[], target: BalanceTarget = { mode: 'max' }): Balance {
  const sorted = [...classes].sort((a, b) => b.count - a.count || a.name.localeCompare(b.name));
  const counts = sorted.map((c) => c.count);
  const total = counts.reduce((a, b) => a + b, 0);
  const goal = targetCount(counts, target);
  const out = sorted.map((c) => ({
    name: c.name,
    count: c.count,
    share: total === 0 ? 0 : c.count / total,
    target: Math.max(goal, c.count),
    needed: Math.max(0, goal - c.count),
    tooSmall: c.count < MIN_IMAGES_FOR_GAN,
  }));
  const smallest = counts.length ? counts[counts.length - 1]! : 0;
  return {
    classes: out,
    imbalanceRatio: counts.length === 0 || smallest === 0 ? null : counts[0]! / smallest,
    targetCount: goal,
    totalNeeded: out.reduce((a, c) => a + c.needed, 0),
    target,
  };
}

/**
 * Stratified train/validation/test split with a fixed seed, grouped so that all images of one
 * group (a patient or a lesion) land in the same split: otherwise a classifier is tested on near-
 * copies of what it trained on and its scores are inflated.
 *
 * Groups are assigned whole. Within each class (a group's class is its most common label), groups
 * are shuffled with the seed and each goes to the split furthest below its target share of that
 * class, so every class is split close to the asked ratios even when groups vary in size.
 *
 * `keep` (the splits already recorded) makes it stable: a group with a recorded member stays in that
 * split, whole, and only new groups are placed, counting the kept ones. So an import or a decided
 * label conflict never moves an image a model may have trained on into validation or test.
 */
import { rngFor, shuffle } from './rng';

export type SplitName = 'train' | 'val' | 'test';
export interface SplitRatios {
  train: number;
  val: number;
  test: number;
}
export const DEFAULT_SPLIT: SplitRatios = { train: 0.7, val: 0.15, test: 0.15 };
export const DEFAULT_SPLIT_SEED = 20261126;

export interface SplitInput {
  id: number;
  label: string;
  group: string | null; // null: the image is its own group
}

export function assignSplits(
  images: readonly SplitInput[],
  ratios: SplitRatios = DEFAULT_SPLIT,
  seed = DEFAULT_SPLIT_SEED,
  keep: ReadonlyMap<number, SplitName> = new Map(),
): Map<number, SplitName> {
  const sum = ratios.train + ratios.val + ratios.test;
  const share: Record<SplitName, number> = { train: ratios.train / sum, val: ratios.val / sum, test: ratios.test / sum };
  const groups = new Map<string, SplitInput[]>();
  for (const img of images) {
    const key = img.group === null ? `\u0000image:${img.id}` : `group:${img.group}`;
    const g = groups.get(key);
    if (g) g.push(img);
    else groups.set(key, [img]);
  }
  // A group's class: its most common label (ties: alphabetical), so multi-label groups stay whole.
  const byClass = new Map<string, { key: string; members: SplitInput[] }[]>();
  for (const [key, members] of [...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const counts = new Map<string, number>();
    for (const m of members) counts.set(m.label, (counts.get(m.label) ?? 0) + 1);
    const label = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]![0];
    const list = byClass.get(label);
    if (list) list.push({ key, members });
    else byClass.set(label, [{ key, members }]);
  }
  const out = new Map<number, SplitName>();
  const order: SplitName[] = ['train', 'val', 'test'];
  for (const [label, all] of [...byClass].sort(([a], [b]) => a.localeCompare(b))) {
    const total = all.reduce((a, g) => a + g.members.length, 0);
    const have: Record<SplitName, number> = { train: 0, val: 0, test: 0 };
    // Kept groups first: the split of their first recorded member (by id), for all of them.
    const list: typeof all = [];
    for (const g of all) {
      const recorded = [...g.members].sort((a, b) => a.id - b.id).find((m) => keep.has(m.id));
      if (!recorded) {
        list.push(g);
        continue;
      }
      const split = keep.get(recorded.id)!;
      have[split] += g.members.length;
      for (const m of g.members) out.set(m.id, split);
    }
    shuffle(list, rngFor(seed, `split:${label}`));
    for (const g of list) {
      // furthest below its target (ties favour train, then val)
      let best: SplitName = 'train';
      let bestDeficit = -Infinity;
      for (const s of order) {
        if (share[s] === 0) continue;
        const deficit = share[s] * total - have[s];
        if (deficit > bestDeficit + 1e-9) {
          best = s;
          bestDeficit = deficit;
        }
      }
      have[best] += g.members.length;
      for (const m of g.members) out.set(m.id, best);
    }
  }
  return out;
}

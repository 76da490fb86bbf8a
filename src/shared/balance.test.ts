import { describe, expect, it } from 'vitest';
import { computeBalance, median } from './balance';

const isic = [
  { name: 'NV', count: 12875 },
  { name: 'MEL', count: 4522 },
  { name: 'BCC', count: 3323 },
  { name: 'BKL', count: 2624 },
  { name: 'AK', count: 867 },
  { name: 'SCC', count: 628 },
  { name: 'VASC', count: 253 },
  { name: 'DF', count: 239 },
];

describe('computeBalance', () => {
  it('matches the largest class by default, with shares and the imbalance ratio', () => {
    const b = computeBalance(isic);
    expect(b.targetCount).toBe(12875);
    expect(b.imbalanceRatio).toBeCloseTo(12875 / 239);
    expect(b.classes[0]).toMatchObject({ name: 'NV', needed: 0, target: 12875 });
    expect(b.classes.at(-1)).toMatchObject({ name: 'DF', needed: 12875 - 239, tooSmall: false });
    expect(b.classes.reduce((a, c) => a + c.share, 0)).toBeCloseTo(1);
  });

  it('matches the median, or a custom number, never asking a class to shrink', () => {
    expect(median([1, 2, 3, 4])).toBe(3); // (2+3)/2 rounded
    const m = computeBalance(isic, { mode: 'median' });
    expect(m.targetCount).toBe(Math.round((867 + 2624) / 2));
    expect(m.classes.find((c) => c.name === 'NV')).toMatchObject({ needed: 0, target: 12875 });
    const c = computeBalance(isic, { mode: 'custom', value: 500 });
    expect(c.classes.find((x) => x.name === 'DF')).toMatchObject({ needed: 261, target: 500 });
    expect(c.classes.find((x) => x.name === 'SCC')?.needed).toBe(0);
  });

  it('flags classes too small for GAN training and handles empty input', () => {
    expect(computeBalance([{ name: 'a', count: 30 }, { name: 'b', count: 300 }]).classes[1]).toMatchObject({ name: 'a', tooSmall: true });
    expect(computeBalance([])).toMatchObject({ classes: [], imbalanceRatio: null, totalNeeded: 0 });
  });
});

import { describe, expect, it } from 'vitest';
import { formatShare, ratioSentence, splitInput, validateSplitForm } from './balanceText';

const cls = (name: string, count: number) => ({ name, count });

describe('ratioSentence', () => {
  it('says the imbalance in words', () => {
    expect(ratioSentence({ imbalanceRatio: 53.94, classes: [cls('NV', 12875), cls('DF', 239)] as never })).toBe(
      'The largest class (NV) has 53.9× as many images as the smallest (DF).',
    );
    expect(ratioSentence({ imbalanceRatio: 1, classes: [cls('a', 5), cls('b', 5)] as never })).toMatch(/about the same/);
    expect(ratioSentence({ imbalanceRatio: 1, classes: [cls('a', 5)] as never })).toMatch(/only one class/);
    expect(ratioSentence({ imbalanceRatio: null, classes: [] })).toBe('There are no images yet.');
  });
  it('formats shares', () => {
    expect(formatShare(0.5123)).toBe('51.2%');
    expect(formatShare(0.0004)).toBe('under 0.1%');
    expect(formatShare(0)).toBe('0%');
  });
});

describe('split form', () => {
  it('accepts shares that add up to 100 and turns them into fractions', () => {
    const form = { seed: 42, train: 70, val: 15, test: 15 };
    expect(validateSplitForm(form)).toEqual({});
    const { seed, ratios } = splitInput(form);
    expect(seed).toBe(42);
    expect(ratios.train + ratios.val + ratios.test).toBeCloseTo(1, 9);
  });
  it('explains what is wrong in words', () => {
    expect(validateSplitForm({ seed: 1, train: 70, val: 15, test: 10 }).sum).toBe('The three shares add up to 95%; they must add up to 100%.');
    expect(validateSplitForm({ seed: 1.5, train: 0, val: 50, test: 50 })).toMatchObject({ seed: expect.any(String), train: expect.stringMatching(/above 0/) });
    expect(validateSplitForm({ seed: 1, train: '', val: 15, test: 15 }).train).toBe('Enter a percentage.');
  });
});

import { describe, expect, it } from 'vitest';
import { mulberry32 } from './rng';
import { hammingDistance, nearDuplicatePairs } from './phash';

const flip = (hex: string, bits: number[]) => {
  let v = BigInt(`0x${hex}`);
  for (const b of bits) v ^= 1n << BigInt(b);
  return v.toString(16).padStart(16, '0');
};

describe('nearDuplicatePairs', () => {
  it('finds every pair within 3 bits (whatever bits differ) and nothing further apart', () => {
    const rand = mulberry32(9);
    const hex = () => Array.from({ length: 16 }, () => Math.floor(rand() * 16).toString(16)).join('');
    const items = Array.from({ length: 300 }, (_, id) => ({ id, phash: hex() }));
    const base = items[0]!.phash;
    items.push({ id: 1000, phash: flip(base, [0, 21, 63]) }); // 3 bits, in three different bands
    items.push({ id: 1001, phash: flip(base, [5, 6, 7, 40]) }); // 4 bits: not a near duplicate
    const pairs = nearDuplicatePairs(items, (i) => i.id >= 1000);
    expect(pairs.map((p) => [p.a.id, p.b.id, p.distance])).toEqual([[0, 1000, 3]]);
    expect(hammingDistance(base, flip(base, [5, 6, 7, 40]))).toBe(4);
  });

  it('only reports pairs that involve a new image', () => {
    const items = [
      { id: 1, phash: '0000000000000000' },
      { id: 2, phash: '0000000000000001' },
      { id: 3, phash: '0000000000000003' },
    ];
    expect(nearDuplicatePairs(items, (i) => i.id === 3).map((p) => [p.a.id, p.b.id])).toEqual([
      [1, 3],
      [2, 3],
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import { mulberry32 } from './rng';
import { hammingDistance, nearCopyMessage, nearCopyReports, nearDuplicatePairs } from './phash';

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

describe('near-copy reports', () => {
  const item = (id: number, label = 'nevus', isNew = true) => ({ id, relPath: `${label}/${id}.jpg`, label, isNew });
  const pair = (a: ReturnType<typeof item>, b: ReturnType<typeof item>, distance: number) => ({ a, b, distance });

  it('gives one report per new image, naming its look-alikes closest first, not one line per pair', () => {
    // Four new look-alikes (6 pairs) and one stored image like the first.
    const [s, n1, n2, n3, n4] = [item(1, 'nevus', false), item(10), item(11), item(12), item(13)];
    const pairs = [pair(s, n1, 2), pair(n1, n2, 1), pair(n1, n3, 3), pair(n1, n4, 2), pair(n2, n3, 2), pair(n2, n4, 1), pair(n3, n4, 3)];
    const reports = nearCopyReports(pairs, (i) => i.isNew);
    expect(reports.map((r) => [r.image.id, r.others.map((o) => o.item.id)])).toEqual([
      [10, [1]],
      [11, [10]],
      [12, [11, 10]],
      [13, [11, 10, 12]],
    ]);
  });

  it('says it in words: one look-alike as before, several counted with three named, other classes called out', () => {
    const x = item(20);
    expect(nearCopyMessage(x, [{ item: item(3, 'melanoma'), distance: 2 }])).toBe(
      '"nevus/20.jpg" looks almost the same as "melanoma/3.jpg" under another class ("melanoma" vs "nevus") (they differ in 2 of 64 bits of their perceptual hash). If they show the same patient or lesion, keep only one.',
    );
    expect(nearCopyMessage(x, [{ item: item(3), distance: 1 }, { item: item(4), distance: 1 }])).toBe(
      '"nevus/20.jpg" looks almost the same as 2 other images: "nevus/3.jpg" and "nevus/4.jpg" (they differ in 1 of 64 bits of their perceptual hash). If any of them shows the same patient or lesion, keep only one.',
    );
    const five = [1, 2, 3, 4, 5].map((id) => ({ item: item(id, id === 5 ? 'melanoma' : 'nevus'), distance: id < 3 ? 1 : 3 }));
    expect(nearCopyMessage(x, five)).toBe(
      '"nevus/20.jpg" looks almost the same as 5 other images: "nevus/1.jpg", "nevus/2.jpg", "nevus/3.jpg" and 2 more (they differ in 1 to 3 of 64 bits of their perceptual hash; 1 of them under another class than "nevus"). If any of them shows the same patient or lesion, keep only one.',
    );
  });
});

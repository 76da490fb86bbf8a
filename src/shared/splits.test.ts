import { describe, expect, it } from 'vitest';
import { assignSplits, type SplitInput } from './splits';

function dataset(): SplitInput[] {
  const out: SplitInput[] = [];
  let id = 0;
  // 300 of A (in groups of 1..4 images), 60 of B ungrouped, 20 of C
  for (let g = 0; out.length < 300; g++) for (let k = 0; k < (g % 4) + 1 && out.length < 300; k++) out.push({ id: id++, label: 'A', group: `p${g}` });
  for (let i = 0; i < 60; i++) out.push({ id: id++, label: 'B', group: null });
  for (let i = 0; i < 20; i++) out.push({ id: id++, label: 'C', group: null });
  return out;
}

describe('assignSplits', () => {
  it('is stratified: each class near 70/15/15', () => {
    const data = dataset();
    const s = assignSplits(data);
    for (const label of ['A', 'B', 'C']) {
      const of = data.filter((d) => d.label === label);
      const train = of.filter((d) => s.get(d.id) === 'train').length / of.length;
      const val = of.filter((d) => s.get(d.id) === 'val').length / of.length;
      expect(train).toBeGreaterThan(0.62);
      expect(train).toBeLessThan(0.78);
      expect(val).toBeGreaterThan(0.08);
    }
    expect(s.size).toBe(data.length);
  });

  it('never puts one group in two splits', () => {
    const data = dataset();
    const s = assignSplits(data);
    const splitOfGroup = new Map<string, string>();
    for (const d of data) {
      if (!d.group) continue;
      const prev = splitOfGroup.get(d.group);
      if (prev) expect(s.get(d.id)).toBe(prev);
      else splitOfGroup.set(d.group, s.get(d.id)!);
    }
  });

  it('keeps the splits already recorded and places only new groups, so that the ratios hold over all', () => {
    const data = dataset();
    const before = assignSplits(data.slice(0, 200).concat(data.slice(300, 330)));
    // more images arrive: more of A (new groups and a new member of a recorded group), of B, and all of C
    const after = assignSplits(data.concat([{ id: 1000, label: 'A', group: 'p0' }]), undefined, undefined, before);
    for (const [id, split] of before) expect(after.get(id)).toBe(split);
    expect(after.get(1000)).toBe(before.get(0)); // p0's split, with the rest of its group
    expect(after.size).toBe(data.length + 1);
    for (const label of ['A', 'B', 'C']) {
      const of = data.filter((d) => d.label === label);
      const train = of.filter((d) => after.get(d.id) === 'train').length / of.length;
      expect(train).toBeGreaterThan(0.62);
      expect(train).toBeLessThan(0.78);
    }
    // without the record, the same images are drawn afresh and many move
    const fresh = assignSplits(data.concat([{ id: 1000, label: 'A', group: 'p0' }]));
    expect([...before].filter(([id, split]) => fresh.get(id) !== split).length).toBeGreaterThan(0);
  });

  it('is reproducible for a seed and changes with another seed', () => {
    const data = dataset();
    const sorted = (m: Map<number, string>) => [...m].sort((a, b) => a[0] - b[0]);
    expect(sorted(assignSplits(data, undefined, 7))).toEqual(sorted(assignSplits([...data].reverse(), undefined, 7)));
    expect([...assignSplits(data, undefined, 7)]).not.toEqual([...assignSplits(data, undefined, 8)]);
  });
});

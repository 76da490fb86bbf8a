/** Perceptual-hash helpers: distances and near-duplicate pairs. Pure. */

const POPCOUNT4 = [0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4];

/** Number of differing bits between two equal-length hex hashes (0..64 for dHash). */
export function hammingDistance(a: string, b: string): number {
  if (a.length !== b.length) throw new Error(`Hashes of different lengths: ${a.length} and ${b.length} hex digits.`);
  let d = 0;
  for (let i = 0; i < a.length; i++) d += POPCOUNT4[parseInt(a[i]!, 16) ^ parseInt(b[i]!, 16)]!;
  return d;
}

/** Bits of difference up to which two 64-bit dHashes count as "almost the same picture". */
export const NEAR_DUPLICATE_BITS = 3;

/**
 * Pairs of near-identical images (dHash distance 1..maxBits; 0 is left to exact duplicates when the
 * bytes match, and is included when they do not). At least one of the new images is in each pair.
 * A 64-bit hash is cut into maxBits+1 bands: two hashes within maxBits bits agree exactly on at least
 * one band (pigeonhole), so only images sharing a band are compared: near-linear instead of all pairs.
 */
export function nearDuplicatePairs<T extends { id: number; phash: string }>(
  items: readonly T[],
  isNew: (item: T) => boolean,
  maxBits = NEAR_DUPLICATE_BITS,
): { a: T; b: T; distance: number }[] {
  const bands = maxBits + 1;
  const seen = new Set<string>();
  const out: { a: T; b: T; distance: number }[] = [];
  const valid = items.filter((i) => i.phash.length === 16);
  for (let band = 0; band < bands; band++) {
    const start = Math.floor((band * 16) / bands);
    const end = Math.floor(((band + 1) * 16) / bands);
    const buckets = new Map<string, T[]>();
    for (const it of valid) {
      const key = it.phash.slice(start, end);
      const list = buckets.get(key);
      if (list) list.push(it);
      else buckets.set(key, [it]);
    }
    for (const list of buckets.values()) {
      if (list.length < 2) continue;
      for (let i = 0; i < list.length; i++) {
        for (let j = i + 1; j < list.length; j++) {
          const a = list[i]!;
          const b = list[j]!;
          if (!isNew(a) && !isNew(b)) continue;
          const key = a.id < b.id ? `${a.id}:${b.id}` : `${b.id}:${a.id}`;
          if (seen.has(key)) continue;
          seen.add(key);
          const distance = hammingDistance(a.phash, b.phash);
          if (distance <= maxBits) out.push(a.id < b.id ? { a, b, distance } : { a: b, b: a, distance });
        }
      }
    }
  }
  return out.sort((x, y) => x.a.id - y.a.id || x.b.id - y.b.id);
}

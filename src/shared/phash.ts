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

/** An image as the near-copy report names it. */
export interface NearCopyItem {
  id: number;
  relPath: string;
  label: string;
}

/** How many look-alikes a report names before "and N more". */
const NAMED_LOOK_ALIKES = 3;

/**
 * One report per image of the import that has near-copies: the image and every image it looks almost
 * the same as, closest first. A pair of two new images is reported under the later one (the one with
 * the larger id), as `nearDuplicatePairs` orders it; so a set of n look-alikes gives n - 1 reports, not
 * n(n - 1)/2 pair lines.
 */
export function nearCopyReports<T extends NearCopyItem>(
  pairs: readonly { a: T; b: T; distance: number }[],
  isNew: (item: T) => boolean,
): { image: T; others: { item: T; distance: number }[] }[] {
  const byImage = new Map<number, { image: T; others: { item: T; distance: number }[] }>();
  for (const { a, b, distance } of pairs) {
    const [image, other] = isNew(b) ? [b, a] : [a, b];
    const entry = byImage.get(image.id) ?? { image, others: [] };
    entry.others.push({ item: other, distance });
    byImage.set(image.id, entry);
  }
  const reports = [...byImage.values()].sort((x, y) => x.image.id - y.image.id);
  for (const r of reports) r.others.sort((x, y) => x.distance - y.distance || x.item.id - y.item.id);
  return reports;
}

/** The sentence for one report: what the image looks like, under which classes, and what to do. */
export function nearCopyMessage(image: NearCopyItem, others: readonly { item: NearCopyItem; distance: number }[]): string {
  if (others.length === 1) {
    const { item, distance } = others[0]!;
    const labels = item.label === image.label ? '' : ` under another class ("${item.label}" vs "${image.label}")`;
    return (
      `"${image.relPath}" looks almost the same as "${item.relPath}"${labels} (they differ in ${distance} of 64 bits of their ` +
      'perceptual hash). If they show the same patient or lesion, keep only one.'
    );
  }
  const named = others.slice(0, NAMED_LOOK_ALIKES).map((o) => `"${o.item.relPath}"`);
  const more = others.length - named.length;
  const list = more > 0 ? `${named.join(', ')} and ${more} more` : `${named.slice(0, -1).join(', ')} and ${named[named.length - 1]}`;
  const elsewhere = others.filter((o) => o.item.label !== image.label).length;
  const classes = elsewhere === 0 ? '' : `; ${elsewhere === others.length ? 'all' : elsewhere} of them under another class than "${image.label}"`;
  const closest = others[0]!.distance;
  const furthest = others[others.length - 1]!.distance;
  const bits = closest === furthest ? `${closest}` : `${closest} to ${furthest}`;
  return (
    `"${image.relPath}" looks almost the same as ${others.length} other images: ${list} (they differ in ${bits} of 64 bits of their ` +
    `perceptual hash${classes}). If any of them shows the same patient or lesion, keep only one.`
  );
}

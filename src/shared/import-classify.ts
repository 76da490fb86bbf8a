/**
 * Decide each probed file's outcome from its content hash and label. Pure and deterministic: the
 * result depends only on the entries' `order` (then `relPath`), not on the order they arrive in
 * (the pipeline finishes files out of order).
 *
 * - `imported`: the first file (in order) with this content.
 * - `duplicate`: the same content again under the same label: not imported again;
 *   `duplicateOf` names the file that was imported.
 * - `conflict`: the same content under two or more labels. Every copy is excluded from training
 *   until the person resolves it, because whichever label we picked would be a guess.
 *   `conflictLabels` lists the labels involved (sorted).
 * - `rejected`: the probe rejected the file; passed through unchanged.
 *
 * Images already in the project (`existing`) take part: re-importing the same folder marks every
 * file a duplicate of the stored one, and new content that matches a stored image under another
 * label is a conflict (the stored image is listed in `existingConflicts` so the caller can
 * exclude it too). A label the person ruled out for a picture when deciding a conflict
 * (`excluded`) stays ruled out: a file bringing that picture under that label again is a duplicate
 * of the stored copy, not a new conflict.
 */

export interface ClassifyInput {
  status: 'ok' | 'rejected';
  relPath: string;
  /** Absolute path; reported in `duplicateOf`. */
  file: string;
  label: string | null;
  /** Required when status is 'ok'. */
  sha256?: string;
  /** Enumeration order (the pipeline's `seq`); ties and absent values fall back to relPath. */
  order?: number;
}

export interface ExistingImage {
  sha256: string;
  label: string | null;
  file: string;
  /** The person decided this picture is not of this label (a decided conflict). */
  excluded?: boolean;
}

export type Outcome = 'imported' | 'duplicate' | 'conflict' | 'rejected';

export interface Classified<T extends ClassifyInput> {
  entry: T;
  outcome: Outcome;
  /** For `duplicate`: the file that holds this content (a file in this import, or a stored one). */
  duplicateOf?: string;
  /** For `conflict`: every label this content appears under, sorted. */
  conflictLabels?: string[];
}

export interface ClassifyResult<T extends ClassifyInput> {
  /** One per input, sorted by (order, relPath). */
  items: Classified<T>[];
  /** Stored images that now conflict with a new file (same content, another label). */
  existingConflicts: (ExistingImage & { conflictLabels: string[] })[];
}

const labelKey = (l: string | null) => l ?? '\u0000(none)';

function compare(a: ClassifyInput, b: ClassifyInput): number {
  const oa = a.order ?? Number.MAX_SAFE_INTEGER;
  const ob = b.order ?? Number.MAX_SAFE_INTEGER;
  if (oa !== ob) return oa - ob;
  return a.relPath < b.relPath ? -1 : a.relPath > b.relPath ? 1 : 0;
}

export function classify<T extends ClassifyInput>(entries: readonly T[], existing: Iterable<ExistingImage> = []): ClassifyResult<T> {
  const sorted = [...entries].sort(compare);

  // Labels per content hash, over stored images and this import.
  const labels = new Map<string, Set<string>>();
  const stored = new Map<string, ExistingImage[]>();
  const addLabel = (sha: string, label: string | null) => {
    let set = labels.get(sha);
    if (!set) labels.set(sha, (set = new Set()));
    set.add(labelKey(label));
  };
  const ruledOut = new Map<string, string>(); // sha + label -> the stored copy the person ruled out
  const ruledOutKey = (sha: string, label: string | null) => `${sha}\u0000${labelKey(label)}`;
  for (const e of existing) {
    if (e.excluded) {
      ruledOut.set(ruledOutKey(e.sha256, e.label), e.file);
      continue;
    }
    addLabel(e.sha256, e.label);
    const list = stored.get(e.sha256);
    if (list) list.push(e);
    else stored.set(e.sha256, [e]);
  }
  for (const e of sorted) {
    if (e.status !== 'ok') continue;
    if (!e.sha256) throw new Error(`classify: "${e.relPath}" has status ok but no sha256`);
    if (!ruledOut.has(ruledOutKey(e.sha256, e.label))) addLabel(e.sha256, e.label);
  }
  const labelList = (sha: string) =>
    [...labels.get(sha)!].map((l) => (l === labelKey(null) ? '(no label)' : l)).sort();

  const firstFile = new Map<string, string>(); // sha -> file holding it (stored first)
  for (const [sha, list] of stored) firstFile.set(sha, list[0]!.file);

  const items: Classified<T>[] = sorted.map((entry) => {
    if (entry.status !== 'ok') return { entry, outcome: 'rejected' };
    const sha = entry.sha256!;
    const decided = ruledOut.get(ruledOutKey(sha, entry.label));
    if (decided !== undefined) return { entry, outcome: 'duplicate', duplicateOf: decided };
    if (labels.get(sha)!.size > 1) return { entry, outcome: 'conflict', conflictLabels: labelList(sha) };
    const first = firstFile.get(sha);
    if (first !== undefined) return { entry, outcome: 'duplicate', duplicateOf: first };
    firstFile.set(sha, entry.file);
    return { entry, outcome: 'imported' };
  });

  const existingConflicts: ClassifyResult<T>['existingConflicts'] = [];
  for (const [sha, list] of stored) {
    if (labels.get(sha)!.size > 1) for (const e of list) existingConflicts.push({ ...e, conflictLabels: labelList(sha) });
  }
  return { items, existingConflicts };
}

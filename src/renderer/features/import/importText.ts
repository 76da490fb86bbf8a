/** Plain words for what the import finds: problem groups, outcome lists, counts. Pure. */
import type { ImportSummary, SourceProblem } from './types';
import { splitNearCopies } from '../../../shared/import-types';
export { plural } from '../../../shared/words';

/** A heading per problem kind, saying what it means for the import. Unknown kinds get a general one. */
export const PROBLEM_HEADINGS: Record<string, string> = {
  'not-in-class-folder': 'Files not inside a class folder (their class is unknown, so they are left out)',
  'not-an-image-extension': 'Files that are not images by their name (left out)',
  'empty-class-folder': 'Class folders with no images',
  'linked-folder': 'Linked folders (not followed)',
  'unreadable-folder': 'Folders that could not be opened',
  'missing-file': 'CSV rows whose image file is missing',
  'ambiguous-file': 'CSV rows that match more than one file',
  'no-file-name': 'CSV rows without a file name',
  'no-label': 'CSV rows without a class',
  'several-labels': 'CSV rows with more than one class',
  'invalid-value': 'CSV cells that are not 0 or 1',
  'duplicate-row': 'Files listed twice with the same class (imported once)',
  'contradictory-rows': 'Files listed twice with different classes (not imported)',
  'no-row': 'Images that no CSV row mentions (their class is unknown, so they are left out)',
  'near-duplicate': 'Pictures that look almost the same as another one (imported; check they are not the same patient twice)',
};

export function problemHeading(kind: string): string {
  return PROBLEM_HEADINGS[kind] ?? 'Other problems';
}

export interface ProblemGroup {
  kind: string;
  heading: string;
  problems: SourceProblem[];
}

/** Groups problems by kind, largest group first, keeping each group's order. */
export function groupProblems(problems: readonly SourceProblem[]): ProblemGroup[] {
  const map = new Map<string, SourceProblem[]>();
  for (const p of problems) {
    const list = map.get(p.kind) ?? [];
    list.push(p);
    map.set(p.kind, list);
  }
  return [...map.entries()]
    .map(([kind, list]) => ({ kind, heading: problemHeading(kind), problems: list }))
    .sort((a, b) => b.problems.length - a.problems.length || a.heading.localeCompare(b.heading));
}

export const REJECT_LABEL: Record<string, string> = {
  unreadable: 'Damaged',
  truncated: 'Cut off',
  'not-an-image': 'Not an image',
  empty: 'Empty file',
  unsupported: 'Not supported',
};

export const CONFLICT_EXPLANATION =
  'The same picture appears under two labels; it is kept out of training until you decide which is right, on the Balance screen.';

export const DUPLICATE_EXPLANATION = 'An exact copy of an image that is already in the project; it was imported once.';

export const NEAR_COPY_EXPLANATION =
  'Each row is a picture that looks almost the same as one or more others (their perceptual hashes differ in at most 3 ' +
  'of 64 bits). They were imported. If two of them show the same patient or lesion, remove one: ' +
  'otherwise a classifier may be tested on a picture it trained on. Pictures of one kind taken the same way can look ' +
  'alike without being copies.';

export type OutcomeFilter = 'rejected' | 'duplicates' | 'conflicts' | 'nearCopies' | 'problems';

export interface OutcomeRow {
  key: string;
  /** The file as the person knows it (relative to the source folder). */
  title: string;
  /** The plain reason. */
  reason: string;
  badge: string | null;
}

/** The rows of one outcome list, for the result page. */
export function outcomeRows(summary: ImportSummary, filter: OutcomeFilter): OutcomeRow[] {
  switch (filter) {
    case 'rejected':
      return summary.rejected.map((r, i) => ({
        key: `r${i}`,
        title: r.relPath || r.file,
        reason: r.reason,
        badge: REJECT_LABEL[r.kind] ?? 'Not imported',
      }));
    case 'duplicates':
      return summary.duplicates.map((d, i) => ({
        key: `d${i}`,
        title: d.relPath || d.file,
        reason: `An exact copy of “${d.duplicateOf}”, so it was imported once.`,
        badge: 'Duplicate',
      }));
    case 'conflicts':
      return summary.conflicts.map((c, i) => ({
        key: `c${i}`,
        title: c.relPath || c.file,
        reason: `Appears as ${joinWords(c.labels.map((l) => `“${l}”`))}. Kept out of training until you decide, on the Balance screen.`,
        badge: 'Conflict',
      }));
    case 'nearCopies':
      return splitNearCopies(summary.problems).nearCopies.map((p, i) => ({ key: `n${i}`, title: p.relPath ?? p.file ?? problemHeading(p.kind), reason: p.message, badge: 'Near-copy' }));
    case 'problems':
      return splitNearCopies(summary.problems).others.map((p, i) => ({
        key: `p${i}`,
        title: p.relPath ?? (p.row !== undefined ? `CSV line ${p.row}` : problemHeading(p.kind)),
        reason: p.message,
        badge: null,
      }));
  }
}

export function outcomeCounts(summary: ImportSummary): Record<OutcomeFilter, number> {
  if (summary.totals) return { ...summary.totals };
  return {
    rejected: summary.rejected.length,
    duplicates: summary.duplicates.length,
    conflicts: summary.conflicts.length,
    nearCopies: splitNearCopies(summary.problems).nearCopies.length,
    problems: splitNearCopies(summary.problems).others.length,
  };
}

/** "a", "a and b", "a, b and c". */
export function joinWords(words: readonly string[]): string {
  if (words.length <= 1) return words[0] ?? '';
  return `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`;
}

/**
 * Types of the import that cross the worker boundary and the contract. The import engine lives in
 * the worker (src/worker/import); main records its results in SQLite.
 */

/** A file that may become a training image, before anything has read it. */
export interface CandidateEntry {
  /** Absolute path of the original file. */
  file: string;
  /** Path relative to the source folder, with `/` separators (shown to the person, and stable). */
  relPath: string;
  /** Class name; null only for sources that do not give labels (none today). */
  label: string | null;
  /** Patient / lesion id for leakage-free splits; null when the source has none. */
  group: string | null;
}

export type SourceProblemKind =
  | 'not-in-class-folder' // a file directly in the root of an ImageFolder source
  | 'not-an-image-extension' // a file whose extension is not one of IMAGE_EXTENSIONS
  | 'empty-class-folder' // a class folder with no images in it
  | 'linked-folder' // a symbolic link to a folder: not followed (loops, surprises)
  | 'unreadable-folder' // a folder the app may not list
  | 'missing-file' // a CSV row whose file is not in the images folder
  | 'ambiguous-file' // a CSV row whose name matches several files in nested folders
  | 'no-file-name' // a CSV row with an empty file / id cell
  | 'no-label' // a CSV row with no label (empty cell, or one-hot row with no 1)
  | 'several-labels' // a one-hot row with more than one 1
  | 'invalid-value' // a one-hot cell that is not 0 or 1
  | 'duplicate-row' // a second row for the same file with the same label (imported once)
  | 'contradictory-rows' // two rows for the same file with different labels (not imported)
  | 'no-row' // an image in the folder that no CSV row mentions
  | 'near-duplicate'; // imported, but nearly identical (perceptual hash) to another image: reported, not excluded

export interface SourceProblem {
  kind: SourceProblemKind;
  /** A sentence for the person, naming the file (or the CSV row). */
  message: string;
  /** Absolute path of the file concerned, when there is one. */
  file?: string;
  /** Path relative to the source folder, when there is a file. */
  relPath?: string;
  /** 1-based line number in the CSV (the header is line 1), for CSV row problems. */
  row?: number;
}

/**
 * An import's problems split into near-copies (imported images that look almost the same as another:
 * informational, reported as their own outcome) and the other problems.
 */
export function splitNearCopies<P extends { kind: string }>(problems: readonly P[]): { nearCopies: P[]; others: P[] } {
  return { nearCopies: problems.filter((p) => p.kind === 'near-duplicate'), others: problems.filter((p) => p.kind !== 'near-duplicate') };
}

/** How CSV columns map to files, labels and groups. */
export type CsvMapping =
  | {
      format: 'columns';
      /** Column holding a file name, a relative path, or a name without extension. */
      fileColumn: string;
      labelColumn: string;
      groupColumn?: string;
    }
  | {
      format: 'one-hot';
      /** Column holding the image id (ISIC: `image`), usually without extension. */
      fileColumn: string;
      /** The class columns (ISIC: MEL, NV, ...); each row must have exactly one 1. */
      labelColumns: string[];
      groupColumn?: string;
    };

/** A second CSV that gives each image a group (ISIC: the metadata CSV's `lesion_id`). */
export interface GroupCsv {
  file: string;
  /** Column with the same ids as the label CSV's file column (ISIC: `image`). */
  idColumn: string;
  /** Column with the group (ISIC: `lesion_id`). */
  groupColumn: string;
}

export type SourceSpec =
  | { kind: 'folder'; root: string }
  | {
      kind: 'csv';
      /** Folder holding the images (searched recursively). */
      imagesDir: string;
      csvFile: string;
      /** Omitted: detected from the CSV (see previewCsv). */
      mapping?: CsvMapping;
      groupCsv?: GroupCsv;
    };

export interface CsvPreview {
  columns: string[];
  /** The first rows, each aligned with `columns` (missing cells are ''). */
  rows: string[][];
  /** The separator found in the header line. */
  delimiter: ',' | ';' | '\t';
  detectedFormat: 'one-hot' | 'columns';
  /** A starting point for the column mapper; the person may change it. */
  suggested: CsvMapping;
}

export interface ScanSummary {
  /** Classes with the number of candidate files in each, largest first, then by name. */
  classes: { name: string; count: number }[];
  /** Number of candidate entries (files that will be opened by the import). */
  total: number;
  problems: SourceProblem[];
}

export type RejectKind = 'unreadable' | 'truncated' | 'not-an-image' | 'empty' | 'unsupported';

export interface RejectReason {
  kind: RejectKind;
  /** A sentence for the person, naming the file. */
  message: string;
  /** The decoder's own words, for a support request; not shown by default. */
  detail?: string;
}

export type ImageFormat = 'jpeg' | 'png' | 'webp' | 'tiff' | 'bmp';

export interface ImageInfo {
  format: ImageFormat;
  /** Displayed size in pixels, after the EXIF orientation is applied. */
  width: number;
  height: number;
  /** Channels in the original, alpha included (e.g. 1 gray, 3 RGB, 4 RGBA or CMYK). */
  channels: number;
  /** Bits per sample in the original: 1, 2, 4, 8, 16 or 32. */
  bitDepth: number;
  /** The original's colour space: 'srgb', 'cmyk', 'b-w' (grayscale), or libvips' name for others. */
  colourSpace: string;
  hasAlpha: boolean;
  /** EXIF orientation 1..8 as found (1 = upright, 6 = rotate 90 degrees clockwise to view). */
  orientation: number;
}

export interface ProbeOk {
  status: 'ok';
  /** sha256 of the original file's bytes, lower-case hex: the image's identity. */
  sha256: string;
  /** Size of the original in bytes. */
  bytes: number;
  /** 64-bit dHash, 16 hex characters. */
  phash: string;
  info: ImageInfo;
  /** `<cacheDir>/<sha256[0:2]>/<sha256>.png` */
  cacheFile: string;
  /** sha256 of the training copy's bytes (Verify tells a damaged copy by it). */
  cacheSha256: string;
  /** `<thumbDir>/<sha256[0:2]>/<sha256>.jpg` (or `.webp` with thumbFormat 'webp') */
  thumbFile: string;
}

export interface ProbeRejected {
  status: 'rejected';
  reason: RejectReason;
  /** Present when the file could be read (a damaged image still has an identity). */
  sha256?: string;
  bytes?: number;
}

/** Returned only when `skipHash` said so: the content is already known, nothing was decoded. */
export interface ProbeSkipped {
  status: 'skipped';
  sha256: string;
  bytes: number;
}

export type ImportRecord = CandidateEntry & {
  /** Position in the source's deterministic order (0-based); results arrive out of order. */
  seq: number;
} & (
    | ProbeOk
    | ProbeRejected
    | { status: 'skipped'; skippedBy: 'path' }
    | { status: 'skipped'; skippedBy: 'sha256'; sha256: string; bytes: number }
  );

export interface ImportBatch {
  records: ImportRecord[];
  /** Source problems found since the previous batch (files not in a class folder, CSV rows...). */
  problems: SourceProblem[];
}

/** What an import reports when it ends (CLI `import --json`, the wizard's result page). */
export interface ImportSummary {
  importId: number;
  /** Files imported as new training images. */
  imported: number;
  /** Class name -> images imported into it by this import. */
  classes: Record<string, number>;
  rejected: { file: string; relPath: string; kind: RejectKind; reason: string }[];
  duplicates: { file: string; relPath: string; duplicateOf: string }[];
  conflicts: { file: string; relPath: string; labels: string[] }[];
  problems: SourceProblem[];
  /** Files a previous, interrupted run of this import had already done. */
  resumed: number;
  /**
   * How many there are of each outcome, where the lists above hold only the first few (a report
   * asked for with a limit): near-copies are the problems of kind 'near-duplicate', `problems` the rest.
   */
  totals?: OutcomeTotals;
}

export interface OutcomeTotals {
  rejected: number;
  duplicates: number;
  conflicts: number;
  nearCopies: number;
  problems: number;
}

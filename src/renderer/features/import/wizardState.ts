/**
 * The import wizard's state, changed only by `wizardReducer`; pure so the step rules can be tested
 * without rendering. Steps: 0 source type, 1 where the images are, 2 what was found (pre-scan),
 * 3 importing, 4 the result.
 */
import type { SourceSpec } from '../../../shared/import-types';
import type { CsvMapping, CsvPreview, ScanSummary } from './types';

export type SourceKind = 'folder' | 'csv';

export const STEPS = ['Source type', 'Location', 'Check', 'Import', 'Result'] as const;
export type StepIndex = 0 | 1 | 2 | 3 | 4;

export interface WizardState {
  step: StepIndex;
  kind: SourceKind;
  /** Folder of class subfolders (kind 'folder'). */
  root: string;
  /** Folder with the images (kind 'csv'). */
  imagesDir: string;
  /** The CSV of labels (kind 'csv'). */
  csvFile: string;
  /** The CSV file the preview was read from; the mapping belongs to it. */
  preview: CsvPreview | null;
  previewFile: string | null;
  mapping: CsvMapping | null;
  scan: ScanSummary | null;
  /** The source the scan was made for; a change to the fields invalidates it. */
  scannedFor: string | null;
  jobId: string | null;
  /** Shows field errors only after the person tried to go on. */
  showErrors: boolean;
}

export const initialWizard: WizardState = {
  step: 0,
  kind: 'folder',
  root: '',
  imagesDir: '',
  csvFile: '',
  preview: null,
  previewFile: null,
  mapping: null,
  scan: null,
  scannedFor: null,
  jobId: null,
  showErrors: false,
};

export type WizardAction =
  | { type: 'choose-kind'; kind: SourceKind }
  | { type: 'next' }
  | { type: 'back' }
  | { type: 'set-path'; field: 'root' | 'imagesDir' | 'csvFile'; value: string }
  | { type: 'preview-loaded'; file: string; preview: CsvPreview }
  | { type: 'preview-cleared' }
  | { type: 'set-format'; format: CsvMapping['format'] }
  | { type: 'set-file-column'; column: string }
  | { type: 'set-label-column'; column: string }
  | { type: 'set-label-columns'; columns: string[] }
  | { type: 'set-group-column'; column: string | null }
  | { type: 'show-errors' }
  | { type: 'scanned'; scan: ScanSummary }
  | { type: 'job-started'; jobId: string }
  | { type: 'job-finished' }
  | { type: 'resume-job'; jobId: string }
  | { type: 'show-result' }
  | { type: 'reset' };

/** Columns of a one-hot CSV that look like classes: every cell in the preview is 0 or 1 (as 0, 1, 0.0, 1.0). */
export function oneHotCandidates(preview: CsvPreview, exclude: readonly string[] = []): string[] {
  return preview.columns.filter(
    (c, i) =>
      !exclude.includes(c) &&
      preview.rows.length > 0 &&
      preview.rows.every((r) => /^\s*[01](\.0+)?\s*$/.test(r[i] ?? '')),
  );
}

/** A mapping of the other format, built from what the person already chose. */
function switchFormat(mapping: CsvMapping | null, preview: CsvPreview | null, format: CsvMapping['format']): CsvMapping | null {
  if (!preview) return mapping;
  const fileColumn = mapping?.fileColumn ?? preview.columns[0] ?? '';
  const groupColumn = mapping?.groupColumn;
  const group = groupColumn ? { groupColumn } : {};
  if (format === 'columns') {
    const labelColumn =
      mapping?.format === 'columns' ? mapping.labelColumn : (preview.columns.find((c) => c !== fileColumn && c !== groupColumn) ?? '');
    return { format, fileColumn, labelColumn, ...group };
  }
  const labelColumns =
    preview.suggested.format === 'one-hot'
      ? preview.suggested.labelColumns.filter((c) => c !== fileColumn && c !== groupColumn)
      : oneHotCandidates(preview, [fileColumn, ...(groupColumn ? [groupColumn] : [])]);
  return { format, fileColumn, labelColumns, ...group };
}

function withoutGroup(mapping: CsvMapping): CsvMapping {
  const copy = { ...mapping };
  delete copy.groupColumn;
  return copy;
}

export function wizardReducer(state: WizardState, action: WizardAction): WizardState {
  switch (action.type) {
    case 'choose-kind':
      return state.kind === action.kind ? state : { ...state, kind: action.kind, scan: null, scannedFor: null, showErrors: false };
    case 'next': {
      if (state.step === 0) return { ...state, step: 1, showErrors: false };
      if (state.step === 1) {
        if (Object.keys(validateLocation(state)).length > 0) return { ...state, showErrors: true };
        return { ...state, step: 2, showErrors: false };
      }
      return state;
    }
    case 'back':
      if (state.step === 1 || state.step === 2) return { ...state, step: (state.step - 1) as StepIndex, showErrors: false };
      return state;
    case 'set-path': {
      const next = { ...state, [action.field]: action.value, scan: null, scannedFor: null };
      if (action.field === 'csvFile' && action.value.trim() !== state.previewFile) {
        return { ...next, preview: null, previewFile: null, mapping: null };
      }
      return next;
    }
    case 'preview-loaded':
      if (action.file !== state.csvFile.trim()) return state; // a late answer for a path the person has changed since
      return { ...state, preview: action.preview, previewFile: action.file, mapping: action.preview.suggested, scan: null, scannedFor: null };
    case 'preview-cleared':
      return { ...state, preview: null, previewFile: null, mapping: null };
    case 'set-format':
      if (state.mapping?.format === action.format) return state;
      return { ...state, mapping: switchFormat(state.mapping, state.preview, action.format), scan: null, scannedFor: null };
    case 'set-file-column': {
      if (!state.mapping) return state;
      const m = state.mapping;
      const mapping: CsvMapping =
        m.format === 'one-hot'
          ? { ...m, fileColumn: action.column, labelColumns: m.labelColumns.filter((c) => c !== action.column) }
          : { ...m, fileColumn: action.column };
      return { ...state, mapping, scan: null, scannedFor: null };
    }
    case 'set-label-column':
      if (state.mapping?.format !== 'columns') return state;
      return { ...state, mapping: { ...state.mapping, labelColumn: action.column }, scan: null, scannedFor: null };
    case 'set-label-columns':
      if (state.mapping?.format !== 'one-hot') return state;
      return { ...state, mapping: { ...state.mapping, labelColumns: action.columns }, scan: null, scannedFor: null };
    case 'set-group-column': {
      if (!state.mapping) return state;
      const base = withoutGroup(state.mapping);
      let mapping: CsvMapping = action.column ? { ...base, groupColumn: action.column } : base;
      if (action.column && mapping.format === 'one-hot') {
        mapping = { ...mapping, labelColumns: mapping.labelColumns.filter((c) => c !== action.column) };
      }
      return { ...state, mapping, scan: null, scannedFor: null };
    }
    case 'show-errors':
      return { ...state, showErrors: true };
    case 'scanned':
      return { ...state, scan: action.scan, scannedFor: sourceKey(state) };
    case 'job-started':
      return { ...state, step: 3, jobId: action.jobId };
    case 'resume-job':
      return { ...state, step: 3, jobId: action.jobId };
    case 'job-finished':
    case 'show-result':
      return { ...state, step: 4 };
    case 'reset':
      return { ...initialWizard, kind: state.kind };
  }
}

export type LocationErrors = Partial<Record<'root' | 'imagesDir' | 'csvFile' | 'mapping' | 'fileColumn' | 'labelColumn' | 'labelColumns' | 'groupColumn', string>>;

/** What is missing or inconsistent before the pre-scan can run, as sentences per field. */
export function validateLocation(state: WizardState): LocationErrors {
  const errors: LocationErrors = {};
  if (state.kind === 'folder') {
    if (!state.root.trim()) errors.root = 'Type or choose the folder that holds one subfolder per class.';
    return errors;
  }
  if (!state.imagesDir.trim()) errors.imagesDir = 'Type or choose the folder that holds the images.';
  if (!state.csvFile.trim()) errors.csvFile = 'Type the path of the CSV file with the labels.';
  else if (!state.preview || !state.mapping) errors.mapping = 'Open the CSV file first, so you can check which columns hold what.';
  const m = state.mapping;
  if (m) {
    if (!m.fileColumn) errors.fileColumn = 'Choose the column that names each image file.';
    if (m.format === 'columns') {
      if (!m.labelColumn) errors.labelColumn = 'Choose the column that holds each image’s class.';
      else if (m.labelColumn === m.fileColumn) errors.labelColumn = 'The class column must be another column than the file column.';
    } else if (m.labelColumns.length < 2) {
      errors.labelColumns = 'Choose at least two class columns.';
    }
    if (m.groupColumn && (m.groupColumn === m.fileColumn || (m.format === 'columns' && m.groupColumn === m.labelColumn))) {
      errors.groupColumn = 'The patient or lesion column must be another column than the file and class columns.';
    }
  }
  return errors;
}

/** The source for `import.scan` and `jobs.start`, or null while the location is incomplete. */
export function sourceSpec(state: WizardState): SourceSpec | null {
  if (Object.keys(validateLocation(state)).length > 0) return null;
  if (state.kind === 'folder') return { kind: 'folder', root: state.root.trim() };
  return { kind: 'csv', imagesDir: state.imagesDir.trim(), csvFile: state.csvFile.trim(), ...(state.mapping ? { mapping: state.mapping } : {}) };
}

/** Identifies the source the fields describe; the pre-scan is redone when it changes. */
export function sourceKey(state: WizardState): string | null {
  const spec = sourceSpec(state);
  return spec ? JSON.stringify(spec) : null;
}

/** True when the pre-scan on screen still describes the fields. */
export function scanIsCurrent(state: WizardState): boolean {
  return state.scan !== null && state.scannedFor !== null && state.scannedFor === sourceKey(state);
}

/** Whether the import may start from the Check step: a current scan that found at least one image. */
export function canStartImport(state: WizardState): boolean {
  return scanIsCurrent(state) && (state.scan?.total ?? 0) > 0;
}

/** What the wizard keeps of a source being chosen while the screen is left (`wizardDraft`). */
export interface WizardDraft {
  kind: SourceKind;
  root: string;
  imagesDir: string;
  csvFile: string;
}

/**
 * The part of the wizard worth keeping when the person leaves the screen before importing: the source
 * typed so far. Nothing once the import has started (the job is followed instead) or nothing typed.
 */
export function wizardDraft(state: WizardState): WizardDraft | null {
  if (state.step > 2) return null;
  const draft = { kind: state.kind, root: state.root, imagesDir: state.imagesDir, csvFile: state.csvFile };
  return draft.root || draft.imagesDir || draft.csvFile ? draft : null;
}

/** The wizard opened again from a draft: at the location step, with the paths as they were (the scan runs again). */
export function fromDraft(draft: WizardDraft): WizardState {
  return { ...initialWizard, ...draft, step: 1 };
}

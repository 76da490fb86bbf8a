import { describe, expect, it } from 'vitest';
import type { CsvPreview } from './types';
import {
  canStartImport,
  fromDraft,
  initialWizard,
  oneHotCandidates,
  scanIsCurrent,
  sourceSpec,
  validateLocation,
  wizardDraft,
  wizardReducer,
  type WizardAction,
  type WizardState,
} from './wizardState';

const run = (actions: WizardAction[], from: WizardState = initialWizard) => actions.reduce(wizardReducer, from);

const isic: CsvPreview = {
  columns: ['image', 'MEL', 'NV', 'BCC', 'lesion_id'],
  rows: [
    ['ISIC_0000000', '0.0', '1.0', '0.0', 'L1'],
    ['ISIC_0000001', '1.0', '0.0', '0.0', 'L2'],
  ],
  delimiter: ',',
  detectedFormat: 'one-hot',
  suggested: { format: 'one-hot', fileColumn: 'image', labelColumns: ['MEL', 'NV', 'BCC'] },
};

const plain: CsvPreview = {
  columns: ['filename', 'label', 'patient'],
  rows: [['a.jpg', 'nevus', 'P1']],
  delimiter: ',',
  detectedFormat: 'columns',
  suggested: { format: 'columns', fileColumn: 'filename', labelColumn: 'label' },
};

const scan = { classes: [{ name: 'a', count: 3 }], total: 3, problems: [], disk: { neededBytes: 196_608, freeBytes: null } };

describe('wizard steps', () => {
  it('goes forward only with a complete location, and back', () => {
    let s = run([{ type: 'next' }]);
    expect(s.step).toBe(1);
    s = run([{ type: 'next' }], s);
    expect(s.step).toBe(1);
    expect(s.showErrors).toBe(true);
    expect(validateLocation(s).root).toMatch(/folder/);
    s = run([{ type: 'set-path', field: 'root', value: '  /data/skin ' }, { type: 'next' }], s);
    expect(s.step).toBe(2);
    expect(sourceSpec(s)).toEqual({ kind: 'folder', root: '/data/skin' });
    expect(run([{ type: 'back' }], s).step).toBe(1);
  });

  it('needs a current scan with images before the import can start', () => {
    let s = run([{ type: 'next' }, { type: 'set-path', field: 'root', value: '/d' }, { type: 'next' }]);
    expect(canStartImport(s)).toBe(false);
    s = run([{ type: 'scanned', scan }], s);
    expect(scanIsCurrent(s)).toBe(true);
    expect(canStartImport(s)).toBe(true);
    // editing the path afterwards makes the scan stale
    const edited = run([{ type: 'set-path', field: 'root', value: '/e' }], s);
    expect(scanIsCurrent(edited)).toBe(false);
    // a scan that found nothing blocks the import
    expect(canStartImport(run([{ type: 'scanned', scan: { classes: [], total: 0, problems: [], disk: { neededBytes: 0, freeBytes: null } } }], s))).toBe(false);
  });

  it('moves to progress and result with the job, and resets keeping the source type', () => {
    let s = run([{ type: 'choose-kind', kind: 'csv' }, { type: 'job-started', jobId: 'j1' }]);
    expect(s).toMatchObject({ step: 3, jobId: 'j1' });
    s = run([{ type: 'job-finished' }], s);
    expect(s.step).toBe(4);
    s = run([{ type: 'reset' }], s);
    expect(s).toMatchObject({ step: 0, kind: 'csv', jobId: null });
  });
});

describe('CSV mapping', () => {
  const withCsv = (preview: CsvPreview) =>
    run([
      { type: 'choose-kind', kind: 'csv' },
      { type: 'next' },
      { type: 'set-path', field: 'imagesDir', value: '/img' },
      { type: 'set-path', field: 'csvFile', value: '/labels.csv' },
      { type: 'preview-loaded', file: '/labels.csv', preview },
    ]);

  it('asks for the CSV to be read before going on', () => {
    const s = run([
      { type: 'choose-kind', kind: 'csv' },
      { type: 'next' },
      { type: 'set-path', field: 'imagesDir', value: '/img' },
      { type: 'set-path', field: 'csvFile', value: '/labels.csv' },
      { type: 'next' },
    ]);
    expect(s.step).toBe(1);
    expect(validateLocation(s).mapping).toMatch(/Open the CSV/);
  });

  it('pre-fills the suggested mapping and ignores a late preview for another file', () => {
    const s = withCsv(isic);
    expect(s.mapping).toEqual(isic.suggested);
    const late = run([{ type: 'preview-loaded', file: '/old.csv', preview: plain }], s);
    expect(late).toBe(s);
    // changing the CSV path drops the mapping
    expect(run([{ type: 'set-path', field: 'csvFile', value: '/other.csv' }], s).mapping).toBeNull();
  });

  it('edits the one-hot class columns, the file and the group column', () => {
    let s = withCsv(isic);
    s = run([{ type: 'set-group-column', column: 'lesion_id' }], s);
    expect(s.mapping).toMatchObject({ groupColumn: 'lesion_id' });
    s = run([{ type: 'set-label-columns', columns: ['MEL'] }], s);
    expect(validateLocation(s).labelColumns).toMatch(/at least two/);
    s = run([{ type: 'set-label-columns', columns: ['MEL', 'NV'] }, { type: 'set-group-column', column: null }], s);
    expect(s.mapping).toEqual({ format: 'one-hot', fileColumn: 'image', labelColumns: ['MEL', 'NV'] });
    expect(sourceSpec(s)).toEqual({ kind: 'csv', imagesDir: '/img', csvFile: '/labels.csv', mapping: s.mapping });
    // a column chosen as the file column stops being a class column
    s = run([{ type: 'set-file-column', column: 'MEL' }], s);
    expect(s.mapping).toMatchObject({ fileColumn: 'MEL', labelColumns: ['NV'] });
  });

  it('switches between the two formats and validates the columns', () => {
    let s = withCsv(plain);
    s = run([{ type: 'set-format', format: 'one-hot' }], s);
    expect(s.mapping).toEqual({ format: 'one-hot', fileColumn: 'filename', labelColumns: [] });
    s = run([{ type: 'set-format', format: 'columns' }], s);
    expect(s.mapping).toEqual({ format: 'columns', fileColumn: 'filename', labelColumn: 'label' });
    s = run([{ type: 'set-label-column', column: 'filename' }], s);
    expect(validateLocation(s).labelColumn).toMatch(/another column/);
    expect(sourceSpec(s)).toBeNull();
  });

  it('finds 0/1 columns as class candidates', () => {
    expect(oneHotCandidates(isic, ['image'])).toEqual(['MEL', 'NV', 'BCC']);
  });
});

describe('wizardDraft', () => {
  it('keeps the source typed before the import starts, and nothing after', () => {
    const typed: WizardState = { ...initialWizard, step: 2, kind: 'csv', imagesDir: '/d/img', csvFile: '/d/l.csv' };
    const draft = wizardDraft(typed)!;
    expect(draft).toEqual({ kind: 'csv', root: '', imagesDir: '/d/img', csvFile: '/d/l.csv' });
    expect(fromDraft(draft)).toEqual({ ...initialWizard, kind: 'csv', imagesDir: '/d/img', csvFile: '/d/l.csv', step: 1 });
    expect(wizardDraft({ ...typed, step: 3, jobId: 'j' })).toBeNull();
    expect(wizardDraft(initialWizard)).toBeNull();
  });
});

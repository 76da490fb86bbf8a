import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import type { ProjectStatus } from '../../../shared/contract';
import { Root } from '../../Root';
import { createFakeClient, makeJob, type FakeHandlers } from '../../test-utils/fakeClient';
import { ImportReport } from './ImportResult';
import { ImportScreen } from './ImportScreen';
import type { ImportSummary } from './types';

const info = { name: 'GAN Augment', version: '0.1.0', mode: 'web' as const, platform: 'linux', defaultProjectsDir: '/home/ana' };
const project: ProjectStatus = {
  path: '/p/Study.ganaug',
  name: 'Study',
  createdAt: '2025-01-01T00:00:00Z',
  schemaVersion: 1,
  classes: [],
  imageCount: 0,
  jobs: [],
};

function renderImport(handlers: FakeHandlers, over: Partial<ProjectStatus> = {}) {
  const client = createFakeClient({ 'app.info': () => info, ...handlers });
  const onJob = vi.fn();
  const utils = render(
    <Root client={client} env="test">
      <ImportScreen project={{ ...project, ...over }} jobs={[]} onJob={onJob} onGoToBalance={() => {}} />
    </Root>,
  );
  return { client, onJob, ...utils };
}

describe('ImportScreen', () => {
  it('reads the CSV and shows the first rows with the suggested mapping', async () => {
    const { client } = renderImport({
      'import.previewCsv': () => ({
        columns: ['image', 'MEL', 'NV', 'lesion_id'],
        rows: [
          ['ISIC_0000000', '0.0', '1.0', 'IL_1'],
          ['ISIC_0000001', '1.0', '0.0', 'IL_2'],
        ],
        delimiter: ',',
        detectedFormat: 'one-hot',
        suggested: { format: 'one-hot', fileColumn: 'image', labelColumns: ['MEL', 'NV'] },
      }),
    });
    fireEvent.click(screen.getByText('Images in a folder, plus a CSV file of labels'));
    fireEvent.click(screen.getByTestId('wizard-next'));
    // web mode: no Browse buttons
    expect(screen.queryByRole('button', { name: /Browse/ })).toBeNull();
    fireEvent.change(screen.getByLabelText(/^Folder with the images/), { target: { value: '/data/img' } });
    fireEvent.change(screen.getByLabelText(/^CSV file with the labels/), { target: { value: '/data/labels.csv' } });
    fireEvent.click(screen.getByTestId('read-csv'));

    const table = await screen.findByTestId('csv-preview');
    expect(within(table).getByText('ISIC_0000001')).toBeTruthy();
    expect(within(table).getAllByRole('row')).toHaveLength(3);
    expect(client.calls.find((c) => c.name === 'import.previewCsv')?.input).toEqual({ file: '/data/labels.csv' });
    expect((screen.getByTestId('map-file') as HTMLInputElement).value).toBe('image');
    const classes = screen.getByTestId('map-classes');
    expect((within(classes).getByLabelText('MEL') as HTMLInputElement).checked).toBe(true);
    expect((within(classes).getByLabelText('lesion_id') as HTMLInputElement).checked).toBe(false);
    expect(screen.getByText(/keeps one person’s images in one split/)).toBeTruthy();
  });

  it('keeps the source typed so far when the screen is left and opened again', async () => {
    renderImport({}, { imageCount: 12 });
    fireEvent.click(screen.getByTestId('add-more'));
    fireEvent.click(screen.getByText('Images in a folder, plus a CSV file of labels'));
    fireEvent.click(screen.getByTestId('wizard-next'));
    fireEvent.change(screen.getByLabelText(/^Folder with the images/), { target: { value: '/data/img' } });
    fireEvent.change(screen.getByLabelText(/^CSV file with the labels/), { target: { value: '/data/labels.csv' } });
    cleanup(); // another screen
    renderImport({}, { imageCount: 12 });
    expect((screen.getByLabelText(/^Folder with the images/) as HTMLInputElement).value).toBe('/data/img');
    expect((screen.getByLabelText(/^CSV file with the labels/) as HTMLInputElement).value).toBe('/data/labels.csv');
  });

  it('shows the pre-scan and warns clearly when no images were found', async () => {
    renderImport({
      'import.scan': () => ({
        classes: [],
        total: 0,
        problems: [{ kind: 'not-in-class-folder', message: '"x.jpg" is not inside a class folder.' }],
        disk: { neededBytes: 0, freeBytes: 1e9 },
      }),
    });
    fireEvent.click(screen.getByTestId('wizard-next'));
    fireEvent.change(screen.getByLabelText(/^Folder with one subfolder per class/), { target: { value: '/data' } });
    fireEvent.click(screen.getByTestId('wizard-next'));
    expect(await screen.findByTestId('scan-empty')).toBeTruthy();
    expect(screen.getByText(/Files not inside a class folder/)).toBeTruthy();
    expect((screen.getByTestId('start-import') as HTMLButtonElement).disabled).toBe(true);
  });

  it('starts the import from the pre-scan and shows its progress', async () => {
    const job = makeJob({ id: 'imp', type: 'import', title: 'Import images from "skin"', progress: { done: 10, total: 40, unit: 'files', ratePerSecond: 20, etaSeconds: 2 } });
    const { onJob, rerender, client } = renderImport({
      'import.scan': () => ({ classes: [{ name: 'nevus', count: 30 }, { name: 'melanoma', count: 10 }], total: 40, problems: [], disk: { neededBytes: 2_621_440, freeBytes: 1_000_000 } }),
      'jobs.start': () => job,
    });
    fireEvent.click(screen.getByTestId('wizard-next'));
    fireEvent.change(screen.getByLabelText(/^Folder with one subfolder per class/), { target: { value: '/data/skin' } });
    fireEvent.click(screen.getByTestId('wizard-next'));
    expect(await screen.findByText('melanoma')).toBeTruthy();
    // not enough room: said before the import, which can still start (it stops in words if the disk fills)
    expect(screen.getByTestId('scan-disk').textContent).toMatch(/^Not enough disk space.*take up to 2.6 MB, and the disk holding the project has 1 MB free\./);
    fireEvent.click(screen.getByRole('button', { name: 'Import 40 files' }));
    await waitFor(() => expect(onJob).toHaveBeenCalledWith(job));
    expect(client.calls.find((c) => c.name === 'jobs.start')?.input).toEqual({ type: 'import', source: { kind: 'folder', root: '/data/skin' } });
    rerender(
      <Root client={client} env="test">
        <ImportScreen project={project} jobs={[job]} onJob={onJob} onGoToBalance={() => {}} />
      </Root>,
    );
    expect(await screen.findByText(/10 of 40 files · 20 files per second/)).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Cancel' })).toBeTruthy();
  });

  it('offers "Add more images" for a project that already has images', () => {
    renderImport({}, { imageCount: 120, classes: [{ id: 1, name: 'a', imageCount: 120 }] });
    expect(screen.getByTestId('add-more')).toBeTruthy();
    expect(screen.getByText(/does not create doubles/)).toBeTruthy();
  });
});

const summary: ImportSummary = {
  importId: 1,
  imported: 20,
  classes: { nevus: 12, melanoma: 8 },
  rejected: [
    { file: '/d/nevus/bad.jpg', relPath: 'nevus/bad.jpg', kind: 'unreadable', reason: '"bad.jpg" is damaged: its image data cannot be decoded.' },
    { file: '/d/nevus/notes.jpg', relPath: 'nevus/notes.jpg', kind: 'not-an-image', reason: '"notes.jpg" is not an image.' },
  ],
  duplicates: [{ file: '/d/nevus/copy.jpg', relPath: 'nevus/copy.jpg', duplicateOf: 'nevus/orig.jpg' }],
  conflicts: [{ file: '/d/melanoma/same.png', relPath: 'melanoma/same.png', labels: ['melanoma', 'nevus'] }],
  problems: [],
  resumed: 0,
};

describe('ImportReport', () => {
  it('counts each outcome and filters the list by outcome', () => {
    const client = createFakeClient({});
    render(
      <Root client={client} env="test">
        <ImportReport summary={summary} onGoToBalance={() => {}} />
      </Root>,
    );
    expect(screen.getByTestId('count-imported').textContent).toBe('20');
    expect(screen.getAllByTestId('outcome-row')).toHaveLength(2);
    expect(screen.getByText(/its image data cannot be decoded/)).toBeTruthy();

    fireEvent.click(screen.getByText('Conflicts (1)'));
    expect(screen.getAllByTestId('outcome-row')).toHaveLength(1);
    expect(screen.getByText('melanoma/same.png')).toBeTruthy();
    expect(screen.getByText(/kept out of training until you decide/)).toBeTruthy();
    expect(screen.queryByText(/cannot be decoded/)).toBeNull();

    fireEvent.click(screen.getByText('Duplicates (1)'));
    expect(screen.getByText(/An exact copy of “nevus\/orig.jpg”/)).toBeTruthy();

    fireEvent.click(screen.getByText('Other problems (0)'));
    expect(screen.getByTestId('outcome-empty')).toBeTruthy();
    fireEvent.click(screen.getByText('Near-copies (0)'));
    expect(screen.getByText('No picture looks almost the same as another.')).toBeTruthy();
  });

  it('counts near-copies apart from other problems, with what they mean', () => {
    const near = (n: number) => ({
      kind: 'near-duplicate',
      message: `"nevus/${n}.jpg" looks almost the same as "nevus/orig.jpg" (they differ in 2 of 64 bits of their perceptual hash). If they show the same patient or lesion, keep only one.`,
      file: `/d/nevus/${n}.jpg`,
      relPath: `nevus/${n}.jpg`,
    });
    const withNear: ImportSummary = {
      ...summary,
      problems: [near(1), { kind: 'no-row', message: '"x.jpg" is in no CSV row.', relPath: 'x.jpg' }, near(2)],
    };
    render(
      <Root client={createFakeClient({})} env="test">
        <ImportReport summary={withNear} onGoToBalance={() => {}} />
      </Root>,
    );
    expect(screen.getByTestId('count-near-copies').textContent).toBe('2');
    expect(screen.getByTestId('count-problems').textContent).toBe('1');
    fireEvent.click(screen.getByText('Near-copies (2)'));
    expect(screen.getAllByTestId('outcome-row')).toHaveLength(2);
    expect(screen.getByText('nevus/2.jpg')).toBeTruthy();
    expect(screen.getByText(/^Each row is a picture that looks almost the same as one or more others .* They were imported\. If two of them show the same patient or lesion, remove one/)).toBeTruthy();
    fireEvent.click(screen.getByText('Other problems (1)'));
    expect(screen.getAllByTestId('outcome-row')).toHaveLength(1);
    expect(screen.getByText('"x.jpg" is in no CSV row.')).toBeTruthy();
  });

  it('counts every file of an outcome whose list stops at the limit, and says how many it shows', () => {
    const totals = { rejected: 2_100, duplicates: 1, conflicts: 1, nearCopies: 0, problems: 0 };
    render(
      <Root client={createFakeClient({})} env="test">
        <ImportReport summary={{ ...summary, totals }} onGoToBalance={() => {}} />
      </Root>,
    );
    expect(screen.getByTestId('count-rejected').textContent).toBe('2,100');
    expect(screen.getByText('Rejected (2,100)')).toBeTruthy();
    expect(screen.getByTestId('outcome-shown').textContent).toBe('Showing the first 2 of 2,100.');
    fireEvent.click(screen.getByText('Duplicates (1)'));
    expect(screen.queryByTestId('outcome-shown')).toBeNull();
  });
});

describe('ImportScreen while an import runs', () => {
  it('cancels it, then says nothing is lost and offers to start over', async () => {
    const running = makeJob({ id: 'imp-1', type: 'import', title: 'Import images from "skin"', status: 'running', progress: { done: 40, total: 100, unit: 'files', ratePerSecond: 20, etaSeconds: 3 } });
    const stopped = { ...running, status: 'stopped' as const };
    const client = createFakeClient({ 'app.info': () => info, 'jobs.cancel': () => stopped });
    const onJob = vi.fn();
    const view = (jobs: typeof running[]) => (
      <Root client={client} env="test">
        <ImportScreen project={project} jobs={jobs} onJob={onJob} onGoToBalance={() => {}} />
      </Root>
    );
    const { rerender } = render(view([running]));
    fireEvent.click(await screen.findByRole('button', { name: /Cancel/ }));
    await waitFor(() => expect(client.calls.find((c) => c.name === 'jobs.cancel')?.input).toEqual({ id: 'imp-1' }));
    await waitFor(() => expect(onJob).toHaveBeenCalledWith(stopped));
    rerender(view([stopped]));
    const alert = await screen.findByTestId('import-stopped');
    expect(alert.textContent).toMatch(/The import was cancelled/);
    expect(alert.textContent).toMatch(/40 files already checked are kept/);
    expect(within(alert).getByRole('button', { name: 'Start over' })).toBeTruthy();
  });
});

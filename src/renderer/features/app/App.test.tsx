import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { ProjectStatus } from '../../../shared/contract';
import { Root } from '../../Root';
import { createFakeClient, fail, makeJob } from '../../test-utils/fakeClient';
import { App } from './App';

const project: ProjectStatus = {
  path: '/home/ana/GAN Augment/ISIC 2019.ganaug',
  name: 'ISIC 2019',
  createdAt: '2025-01-01T00:00:00Z',
  schemaVersion: 3,
  classes: [
    { id: 1, name: 'NV', imageCount: 12875 },
    { id: 2, name: 'DF', imageCount: 239 },
  ],
  imageCount: 13114,
  jobs: [makeJob({ id: 'old', status: 'interrupted' })],
};

let disk = {
  totalBytes: 2_600_000_000,
  imagesBytes: 850_000_000,
  runsBytes: 1_700_000_000,
  generatedBytes: 40_000_000,
  recordsBytes: 10_000_000,
  images: 13_114,
  runs: 3,
  generatedImages: 1024,
  freeBytes: 900_000_000,
};

let diskError: string | null = null;

function renderApp() {
  const started = makeJob({ id: 'v1', status: 'queued', progress: { done: 0, total: 400, unit: 'files', ratePerSecond: null, etaSeconds: null } });
  const client = createFakeClient({
    'project.current': () => project,
    'jobs.start': () => started,
    'jobs.cancel': () => ({ ...started, status: 'stopped' }),
    'projects.close': () => ({ ok: true }),
    'app.info': () => ({ name: 'GAN Augment', version: '0.1.0', mode: 'web', platform: 'linux', defaultProjectsDir: '/x' }),
    'projects.recent': () => [],
    'project.disk': () => {
      if (diskError) fail('read-only', diskError);
      return disk;
    },
  });
  render(
    <Root client={client} env="test">
      <App />
    </Root>,
  );
  return { client, started };
}

describe('App with an open project', () => {
  it('shows the project, its status and explains an interrupted job', async () => {
    renderApp();
    expect((await screen.findByTestId('project-name')).textContent).toBe('ISIC 2019');
    expect(screen.getByTestId('stat-images').textContent).toBe('13,114');
    expect(screen.getByTestId('stat-schema').textContent).toBe('Version 3');
    expect(screen.getByText('The app closed while this was running.')).toBeTruthy();
    expect(screen.getByRole('link', { name: 'Overview' }).getAttribute('aria-current')).toBe('page');
  });

  it('starts the verify job and follows its progress until it completes', async () => {
    const { client, started } = renderApp();
    fireEvent.click(await screen.findByRole('button', { name: 'Verify project files' }));
    await screen.findByText('Waiting to start…');

    act(() =>
      client.emit('job.updated', {
        ...started,
        status: 'running',
        progress: { done: 120, total: 400, unit: 'files', ratePerSecond: 2, etaSeconds: 140 },
      }),
    );
    expect(await screen.findByText('120 of 400 files · 2 files per second · about 2 minutes left')).toBeTruthy();

    act(() =>
      client.emit('job.updated', {
        ...started,
        status: 'completed',
        message: 'All 400 files are in place.',
        progress: { done: 400, total: 400, unit: 'files', ratePerSecond: null, etaSeconds: null },
      }),
    );
    expect(await screen.findByText('Verify project files: done')).toBeTruthy();
    expect(screen.queryByTestId('job-progress')).toBeNull();
  });

  it('shows where the disk space goes, measures again when a job ends or a run is deleted, and links to Training', async () => {
    const { client, started } = renderApp();
    expect((await screen.findByTestId('disk-sentence')).textContent).toBe('The project takes 2.6 GB on the disk holding it, which has 900 MB free.');
    expect(screen.getByTestId('disk-parts').textContent).toBe(
      'Training copies and thumbnails of 13,114 images850 MB3 training runs (checkpoints and sample images)1.7 GB1,024 generated images40 MBThe project\'s records (its database)10 MB',
    );
    disk = { ...disk, totalBytes: 900_000_000, runsBytes: 0, runs: 0 };
    act(() => client.emit('run.deleted', { runId: 'run-1' }));
    await waitFor(() => expect(screen.getByTestId('disk-sentence').textContent).toBe('The project takes 900 MB on the disk holding it, which has 900 MB free.'));
    expect(screen.queryByTestId('disk-free-hint')).toBeNull(); // no runs: nothing to delete there
    disk = { ...disk, totalBytes: 1_000_000_000, runs: 1, runsBytes: 100_000_000 };
    act(() => client.emit('job.updated', { ...started, status: 'completed', finishedAt: '2025-01-01T10:00:00.000Z' }));
    await waitFor(() => expect(screen.getByTestId('disk-sentence').textContent).toMatch(/^The project takes 1 GB/));
    fireEvent.click(within(await screen.findByTestId('disk-free-hint')).getByRole('link', { name: 'Training' }));
    await waitFor(() => expect(screen.getByRole('link', { name: 'Training', current: 'page' })).toBeTruthy());
  });

  it('says so in words when the disk space cannot be measured, and measures again on Try again', async () => {
    diskError = 'GAN Augment is not allowed to read the project folder.';
    try {
      renderApp();
      expect(await screen.findByText('The disk space could not be measured')).toBeTruthy();
      expect(screen.getByText('GAN Augment is not allowed to read the project folder.')).toBeTruthy();
      expect(screen.queryByTestId('disk-sentence')).toBeNull();
      diskError = null;
      fireEvent.click(screen.getByRole('button', { name: 'Try again' }));
      expect((await screen.findByTestId('disk-sentence')).textContent).toMatch(/^The project takes /);
    } finally {
      diskError = null;
    }
  });

  it('switches screens with Ctrl+number and closes the project', async () => {
    renderApp();
    await screen.findByTestId('project-name');
    fireEvent.keyDown(document.documentElement, { key: '2', code: 'Digit2', ctrlKey: true });
    await waitFor(() => expect(screen.getByRole('heading', { name: 'Import' })).toBeTruthy());

    fireEvent.click(screen.getByRole('button', { name: 'Close project' }));
    expect(await screen.findByRole('button', { name: 'Create project' })).toBeTruthy();
  });

  it('asks before closing a project with tasks under way, saying what happens to them', async () => {
    const { client } = renderApp();
    await screen.findByTestId('project-name');
    act(() => client.emit('job.updated', makeJob({ id: 't1', type: 'train', title: 'Train run-1', status: 'running' })));
    act(() => client.emit('job.updated', makeJob({ id: 'g1', type: 'generate', title: 'Generate 8 "DF" images from run-1', status: 'queued' })));
    fireEvent.click(screen.getByRole('button', { name: 'Close project' }));
    expect((await screen.findByTestId('close-project-sentence')).textContent).toBe(
      'The training run pauses with a checkpoint of the step it reached; Resume carries it on when you open the project again. The other task (Generate 8 "DF" images from run-1) is cancelled; an import goes on where it stopped when you run it again.',
    );
    fireEvent.click(screen.getByRole('button', { name: 'Keep it open' }));
    await waitFor(() => expect(screen.queryByTestId('close-project-sentence')).toBeNull());
    expect(client.calls.some((c) => c.name === 'projects.close')).toBe(false);
    fireEvent.click(screen.getByRole('button', { name: 'Close project' }));
    fireEvent.click(await screen.findByTestId('close-project-confirm'));
    expect(await screen.findByRole('button', { name: 'Create project' })).toBeTruthy();
  });

  it('another project opened in its place (the menu, another window) gets fresh screens, not this one\'s drafts', async () => {
    const { client } = renderApp();
    await screen.findByTestId('project-name');
    fireEvent.keyDown(document.documentElement, { key: '2', code: 'Digit2', ctrlKey: true });
    fireEvent.click(await screen.findByTestId('add-more'));
    fireEvent.click(screen.getByTestId('wizard-next'));
    fireEvent.change(screen.getByLabelText(/^Folder with one subfolder per class/), { target: { value: '/patients/A' } });
    act(() => client.emit('project.changed', { ...project, path: '/p/Other.ganaug', name: 'Other' }));
    await waitFor(() => expect(screen.getByTestId('project-name').textContent).toBe('Other'));
    fireEvent.click(await screen.findByTestId('add-more'));
    fireEvent.click(screen.getByTestId('wizard-next'));
    expect((screen.getByLabelText(/^Folder with one subfolder per class/) as HTMLInputElement).value).toBe('');
    expect(Object.keys(window.sessionStorage).filter((k) => k.includes('/p/Other.ganaug'))).toEqual([]);
  });

  it('shows the reconnecting banner while the event channel is down, and refetches after', async () => {
    const { client } = renderApp();
    await screen.findByTestId('project-name');
    act(() => client.setConnection('reconnecting'));
    expect(screen.getByText('Disconnected from GAN Augment — reconnecting…')).toBeTruthy();
    const before = client.calls.filter((c) => c.name === 'project.current').length;
    act(() => client.setConnection('connected'));
    expect(screen.queryByText('Disconnected from GAN Augment — reconnecting…')).toBeNull();
    await waitFor(() => expect(client.calls.filter((c) => c.name === 'project.current').length).toBe(before + 1));
  });
});

import { act, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { ProjectStatus } from '../../../shared/contract';
import { Root } from '../../Root';
import { createFakeClient, makeJob } from '../../test-utils/fakeClient';
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

function renderApp() {
  const started = makeJob({ id: 'v1', status: 'queued', progress: { done: 0, total: 400, unit: 'files', ratePerSecond: null, etaSeconds: null } });
  const client = createFakeClient({
    'project.current': () => project,
    'jobs.start': () => started,
    'jobs.cancel': () => ({ ...started, status: 'stopped' }),
    'projects.close': () => ({ ok: true }),
    'app.info': () => ({ name: 'GAN Augment', version: '0.1.0', mode: 'web', platform: 'linux', defaultProjectsDir: '/x' }),
    'projects.recent': () => [],
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

  it('switches screens with Ctrl+number and closes the project', async () => {
    renderApp();
    await screen.findByTestId('project-name');
    fireEvent.keyDown(document.documentElement, { key: '2', code: 'Digit2', ctrlKey: true });
    await waitFor(() => expect(screen.getByRole('heading', { name: 'Import' })).toBeTruthy());

    fireEvent.click(screen.getByRole('button', { name: 'Close project' }));
    expect(await screen.findByRole('button', { name: 'Create project' })).toBeTruthy();
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

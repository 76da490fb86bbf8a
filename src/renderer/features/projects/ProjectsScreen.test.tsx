import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import type { ProjectStatus, RecentProject } from '../../../shared/contract';
import { Root } from '../../Root';
import { createFakeClient, fail, type FakeHandlers } from '../../test-utils/fakeClient';
import { ProjectsScreen } from './ProjectsScreen';

const info = { name: 'GAN Augment', version: '0.1.0', mode: 'web' as const, platform: 'linux', defaultProjectsDir: '/home/ana/GAN Augment' };

const status = (name: string): ProjectStatus => ({
  path: `/home/ana/GAN Augment/${name}.ganaug`,
  name,
  createdAt: '2025-01-01T00:00:00Z',
  schemaVersion: 1,
  classes: [],
  imageCount: 0,
  jobs: [],
});

function renderScreen(handlers: FakeHandlers) {
  const client = createFakeClient({ 'app.info': () => info, 'projects.recent': () => [], ...handlers });
  const onOpened = vi.fn();
  render(
    <Root client={client} env="test">
      <ProjectsScreen onOpened={onOpened} />
    </Root>,
  );
  return { client, onOpened };
}

describe('ProjectsScreen', () => {
  it('shows a first-time empty state and prefills the folder', async () => {
    renderScreen({});
    expect(await screen.findByText('No projects yet')).toBeTruthy();
    await waitFor(() => expect((screen.getByLabelText(/^Folder/) as HTMLInputElement).value).toBe('/home/ana/GAN Augment'));
    expect(screen.getByRole('button', { name: 'Create project' })).toBeTruthy();
  });

  it('shows a validation error from the app next to the field it names', async () => {
    const { client, onOpened } = renderScreen({
      'projects.create': () => fail('validation', 'The input field "name" is invalid: A project with this name already exists.', 'name'),
    });
    const name = screen.getByLabelText(/^Project name/) as HTMLInputElement;
    await waitFor(() => expect((screen.getByLabelText(/^Folder/) as HTMLInputElement).value).not.toBe(''));
    fireEvent.change(name, { target: { value: 'ISIC 2019' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create project' }));

    const error = await screen.findByText('A project with this name already exists.');
    expect(name.getAttribute('aria-invalid')).toBe('true');
    expect(name.getAttribute('aria-describedby') ?? '').toContain(error.id);
    expect(client.calls.find((c) => c.name === 'projects.create')?.input).toEqual({
      name: 'ISIC 2019',
      parentDir: '/home/ana/GAN Augment',
    });
    expect(onOpened).not.toHaveBeenCalled();
  });

  it('checks the name before sending anything', async () => {
    const { client } = renderScreen({});
    fireEvent.click(screen.getByRole('button', { name: 'Create project' }));
    expect(await screen.findByText('Give the project a name.')).toBeTruthy();
    expect(client.calls.some((c) => c.name === 'projects.create')).toBe(false);
  });

  it('opens the new project after a successful create', async () => {
    const created = status('Skin lesions');
    const { onOpened } = renderScreen({ 'projects.create': () => created });
    fireEvent.change(screen.getByLabelText(/^Project name/), { target: { value: 'Skin lesions' } });
    fireEvent.change(screen.getByLabelText(/^Folder/), { target: { value: '/data' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create project' }));
    await waitFor(() => expect(onOpened).toHaveBeenCalledWith(created));
  });

  it('offers no Browse… in the browser, where the path is typed', async () => {
    renderScreen({});
    expect(await screen.findByText(/Type the full path of a folder on the computer running GAN Augment/)).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Browse…' })).toBeNull();
  });

  it('hides Browse… in the desktop app once its dialog answers that it is not available', async () => {
    renderScreen({ 'app.info': () => ({ ...info, mode: 'electron' }), 'dialog.pickFolder': () => fail('unsupported', 'Folder dialogs are not available.') });
    fireEvent.click((await screen.findAllByRole('button', { name: 'Browse…' }))[0]!);
    await waitFor(() => expect(screen.queryByRole('button', { name: 'Browse…' })).toBeNull());
    expect(screen.getByText(/Type the full path of a folder on the computer running GAN Augment/)).toBeTruthy();
  });

  it('lists recent projects, greys out missing ones and forgets on request', async () => {
    const recent: RecentProject[] = [
      { path: '/a/ISIC.ganaug', name: 'ISIC', lastOpenedAt: new Date().toISOString(), available: true },
      { path: '/usb/Old.ganaug', name: 'Old study', lastOpenedAt: new Date().toISOString(), available: false },
    ];
    const { client } = renderScreen({ 'projects.recent': () => recent, 'projects.forget': () => ({ ok: true }) });
    const rows = await screen.findAllByTestId('recent-project');
    expect(rows).toHaveLength(2);
    expect(within(rows[1]!).getByText('Folder not found')).toBeTruthy();
    expect((within(rows[1]!).getByRole('button', { name: 'Open Old study' }) as HTMLButtonElement).disabled).toBe(true);

    fireEvent.click(screen.getByRole('button', { name: 'Remove Old study from the list' }));
    await waitFor(() => expect(screen.getAllByTestId('recent-project')).toHaveLength(1));
    expect(client.calls.find((c) => c.name === 'projects.forget')?.input).toEqual({ path: '/usb/Old.ganaug' });
  });

  it('shows other errors as a titled sentence', async () => {
    renderScreen({
      'projects.recent': () => [{ path: '/a/ISIC.ganaug', name: 'ISIC', lastOpenedAt: new Date().toISOString(), available: true }],
      'projects.open': () => fail('locked', 'Another copy of GAN Augment is using this project.'),
    });
    fireEvent.click(await screen.findByRole('button', { name: 'Open ISIC' }));
    expect(await screen.findByText('Project in use')).toBeTruthy();
    expect(screen.getByText('Another copy of GAN Augment is using this project.')).toBeTruthy();
  });
});

import { act, cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { ProjectStatus, Run } from '../../../shared/contract';
import { Root } from '../../Root';
import { createFakeClient, fail, type FakeHandlers } from '../../test-utils/fakeClient';
import { makeMetrics, makeRun, testBalance } from './testData';
import { TrainingScreen } from './TrainingScreen';

const project: ProjectStatus = {
  path: '/p/Study.ganaug',
  name: 'Study',
  createdAt: '2025-01-01T09:00:00.000Z',
  schemaVersion: 3,
  classes: testBalance.classes.map((c, i) => ({ id: i + 1, name: c.name, imageCount: c.count })),
  imageCount: 1438,
  jobs: [],
};

const SAMPLE = 'data:image/png;base64,iVBORw0KGgo=';

function renderTraining(handlers: FakeHandlers, p: ProjectStatus = project) {
  const client = createFakeClient({
    'balance.get': () => testBalance,
    'runs.list': () => [],
    'runs.sample': () => ({ step: 100, image: SAMPLE }),
    ...handlers,
  });
  let navigated = '';
  render(
    <Root client={client} env="test">
      <TrainingScreen project={p} onGoToImport={() => (navigated = 'import')} />
    </Root>,
  );
  return { client, navigated: () => navigated };
}

describe('TrainingScreen', () => {
  it('links to Import when there are no images', async () => {
    const { navigated } = renderTraining({}, { ...project, classes: [], imageCount: 0 });
    const card = await screen.findByTestId('training-no-images');
    fireEvent.click(within(card).getByRole('link', { name: 'Import' }));
    expect(navigated()).toBe('import');
  });

  it('explains training when there are no runs, pre-selects rare classes and estimates the time', async () => {
    const { client } = renderTraining({
      'train.estimate': () => ({
        backend: 'cpu',
        device: 'Processor (pure JavaScript)',
        warning: 'The processor is very slow for training.',
        msPerStep: 2430,
        etaSeconds: 4 * 3600,
        checkpointBytes: 26_700_000,
        diskNeededBytes: 61_800_000,
        diskFreeBytes: 40_000_000,
      }),
      'train.start': (s) => [makeRun({ id: 'new', classes: s.classes, status: 'queued', step: 0 })],
      'runs.get': () => ({ run: makeRun({ id: 'new', status: 'queued', step: 0 }), metrics: [] }),
    });
    expect((await screen.findByTestId('training-no-runs')).textContent).toMatch(/Training teaches a generative model/);
    const classes = screen.getByTestId('train-classes');
    expect((within(classes).getByLabelText(/^melanoma/) as HTMLInputElement).checked).toBe(true);
    expect((within(classes).getByLabelText(/^dermatofibroma/) as HTMLInputElement).checked).toBe(true);
    expect((within(classes).getByLabelText(/^nevus/) as HTMLInputElement).checked).toBe(false);
    expect(within(classes).getByText('Very few images')).toBeTruthy();
    // 5000 steps x 5 x 64 / 144 images
    expect(screen.getByText(/That is about 11,111 passes over the 144 images/)).toBeTruthy();
    // small classes: DiffAugment on
    expect((screen.getByLabelText(/DiffAugment/) as HTMLInputElement).checked).toBe(true);

    fireEvent.click(screen.getByRole('button', { name: 'Estimate time' }));
    const estimate = await screen.findByTestId('train-estimate');
    expect(estimate.textContent).toMatch(/Backend: Processor \(pure JavaScript\)/);
    expect(estimate.textContent).toMatch(/The processor is very slow/);
    expect(estimate.textContent).toMatch(/2.4 seconds per step: about 4 hours in total for 5,000 steps/);
    expect(screen.getByTestId('train-estimate-disk').textContent).toBe(
      'Not enough disk space: this training needs about 62 MB on the disk holding the project, which has 40 MB free. Free some space first, or choose a lower resolution or fewer classes.',
    );

    fireEvent.click(screen.getByRole('button', { name: 'Start training' }));
    await waitFor(() => expect(client.calls.some((c) => c.name === 'train.start')).toBe(true));
    expect(client.calls.find((c) => c.name === 'train.start')?.input).toEqual({
      model: 'cwgan-gp',
      classes: ['melanoma', 'dermatofibroma'],
      resolution: 64,
      preset: 'default',
      steps: 5000,
      backend: 'auto',
      diffAugment: true,
    });
    expect(await screen.findByTestId('run-dashboard')).toBeTruthy();
    expect(screen.getAllByTestId('run-row')).toHaveLength(1);
  });

  it('keeps the settings typed so far when the screen is left and opened again (per project)', async () => {
    renderTraining({});
    const classes = await screen.findByTestId('train-classes');
    fireEvent.click(within(classes).getByLabelText(/^nevus/));
    fireEvent.click(screen.getByLabelText(/DiffAugment/));
    fireEvent.change(screen.getByTestId('train-steps'), { target: { value: '1234' } });
    cleanup(); // another screen
    renderTraining({});
    const again = await screen.findByTestId('train-classes');
    expect((within(again).getByLabelText(/^nevus/) as HTMLInputElement).checked).toBe(true);
    expect((screen.getByLabelText(/DiffAugment/) as HTMLInputElement).checked).toBe(false);
    expect((screen.getByTestId('train-steps') as HTMLInputElement).value).toBe('1,234');
    cleanup();
    renderTraining({}, { ...project, path: '/other/project.ganaug' }); // another project starts afresh
    expect(((await screen.findByTestId('train-steps')) as HTMLInputElement).value).toBe('5,000');
  });

  it('shows the dashboard of a running run with curves, samples and live updates', async () => {
    let run: Run = makeRun();
    const { client } = renderTraining({
      'runs.list': () => [run, makeRun({ id: 'old', status: 'completed', step: 600 })],
      'runs.get': () => ({ run, metrics: makeMetrics(1, 120) }),
      // as the real session does: the run goes on until its step ends and its checkpoint is saved
      'runs.pause': () => run,
      'runs.sample': () => ({ step: run.sampleStep ?? 0, image: `${SAMPLE}#${run.sampleStep}` }),
    });
    const dashboard = await screen.findByTestId('run-dashboard');
    expect(dashboard.getAttribute('data-run-id')).toBe('run-1');
    expect(await within(dashboard).findByTestId('loss-charts')).toBeTruthy();
    expect(within(dashboard).getByTestId('chart-critic')).toBeTruthy();
    expect((await within(dashboard).findByTestId('sample-image')).getAttribute('src')).toBe(`${SAMPLE}#100`);
    expect(within(dashboard).getByText(/same random seeds each time/)).toBeTruthy();
    expect(within(dashboard).getByTestId('run-step').textContent).toBe('120 of 600');
    expect(within(dashboard).getByTestId('run-eta').textContent).toBe('about 5 minutes left');
    expect(within(dashboard).getByTestId('run-speed').textContent).toBe('48 images per second');
    expect(within(dashboard).getByTestId('run-device').textContent).toBe('GPU: llvmpipe (Vulkan), WebGPU');
    expect((screen.getByTestId('run-pause') as HTMLButtonElement).disabled).toBe(false);
    expect((screen.getByTestId('run-resume') as HTMLButtonElement).disabled).toBe(true);
    expect((screen.getByTestId('run-stop') as HTMLButtonElement).disabled).toBe(false);
    // no estimate while it trains (it would need the same device): said, and the button is off
    expect((screen.getByTestId('train-estimate-button') as HTMLButtonElement).disabled).toBe(true);
    expect(screen.getByTestId('train-estimate-note').textContent).toMatch(/^No estimate while .+ \(run-1\) trains: .+ Pause that run to estimate/);

    // a live update: new step, a new sample grid and a health hint
    run = makeRun({ step: 140, sampleStep: 140, updatedAt: '2025-01-01T10:06:00.000Z', health: ['The critic loss keeps growing: training may be diverging.'] });
    act(() => client.emit('run.updated', { run, metrics: makeMetrics(121, 140) }));
    await waitFor(() => expect(within(dashboard).getByTestId('run-step').textContent).toBe('140 of 600'));
    expect(within(dashboard).getByTestId('run-health').textContent).toMatch(/critic loss keeps growing/);
    await waitFor(() => expect(within(dashboard).getByTestId('sample-image').getAttribute('src')).toBe(`${SAMPLE}#140`));
    expect(within(dashboard).getByTestId('chart-losses').getAttribute('aria-label')).toMatch(/140 recorded steps, up to step 140/);

    fireEvent.click(screen.getByTestId('run-pause'));
    await waitFor(() => expect(within(dashboard).getByTestId('run-status-sentence').textContent).toBe('Pausing: the current step finishes and a checkpoint is saved…'));
    expect(within(dashboard).getByTestId('run-status').textContent).toBe('Running');
    for (const b of ['run-pause', 'run-resume', 'run-stop']) expect((screen.getByTestId(b) as HTMLButtonElement).disabled).toBe(true);

    run = makeRun({ status: 'paused', step: 141, checkpointStep: 141, updatedAt: '2025-01-01T10:07:00.000Z' });
    act(() => client.emit('run.updated', { run, metrics: [] }));
    await waitFor(() => expect(within(dashboard).getByTestId('run-status').textContent).toBe('Paused'));
    expect(within(dashboard).getByTestId('run-status-sentence').textContent).toBe('Paused at step 141. Resume to carry on from there.');
    expect((screen.getByTestId('run-resume') as HTMLButtonElement).disabled).toBe(false);
    expect((screen.getByTestId('run-pause') as HTMLButtonElement).disabled).toBe(true);
    expect((screen.getByTestId('run-stop') as HTMLButtonElement).disabled).toBe(false);

    // choosing another run opens its dashboard
    fireEvent.click(screen.getAllByTestId('run-row')[1]!);
    await waitFor(() => expect(screen.getByTestId('run-dashboard').getAttribute('data-run-id')).toBe('old'));
  });

  it('says so when a running run has gone silent, and stops saying it when it reports again', async () => {
    const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
    let run: Run = makeRun({ updatedAt: ago(10 * 60_000) });
    const { client } = renderTraining({ 'runs.list': () => [run], 'runs.get': () => ({ run, metrics: [] }) });
    const dashboard = await screen.findByTestId('run-dashboard');
    expect((await within(dashboard).findByTestId('run-stalled')).textContent).toMatch(/^No progressNo training step has finished for 10 minutes/);
    run = makeRun({ step: 121, updatedAt: ago(0) });
    act(() => client.emit('run.updated', { run, metrics: [] }));
    await waitFor(() => expect(within(dashboard).queryByTestId('run-stalled')).toBeNull());
  });

  it('before the first step, says what the run is doing, with the images loading as a bar', async () => {
    const now = new Date().toISOString();
    let run: Run = makeRun({ step: 0, checkpointStep: null, imagesPerSec: null, preparing: { stage: 'loading', done: 1200, total: 25331, since: now } });
    const { client } = renderTraining({ 'runs.list': () => [run], 'runs.get': () => ({ run, metrics: [] }) });
    const dashboard = await screen.findByTestId('run-dashboard');
    expect(within(dashboard).getByTestId('run-status-sentence').textContent).toBe('Loading the training images: 1,200 of 25,331…');
    expect(within(dashboard).getByLabelText('Loading the training images: 1200 of 25331')).toBeTruthy();
    run = makeRun({ step: 0, checkpointStep: null, imagesPerSec: null, preparing: { stage: 'starting', done: 0, total: 0, since: now } });
    act(() => client.emit('run.updated', { run, metrics: [] }));
    await waitFor(() => expect(within(dashboard).getByTestId('run-status-sentence').textContent).toBe('Building the networks and taking the first step…'));
    expect(within(dashboard).queryByTestId('run-loading-progress')).toBeNull();
    run = makeRun({ step: 1, checkpointStep: null, preparing: null, updatedAt: new Date().toISOString() });
    act(() => client.emit('run.updated', { run, metrics: [] }));
    await waitFor(() => expect(within(dashboard).queryByTestId('run-status-sentence')).toBeNull());
  });

  it('is not left waiting when the run answers a pause before the call does', async () => {
    let run: Run = makeRun();
    const emitter: { emit?: (run: Run) => void } = {};
    const { client } = renderTraining({
      'runs.list': () => [run],
      'runs.get': () => ({ run, metrics: [] }),
      'runs.pause': () => {
        // the paused event overtakes the reply, which carries the older, running state
        const before = run;
        run = makeRun({ status: 'paused', step: 121, checkpointStep: 121, updatedAt: '2025-01-01T10:07:00.000Z' });
        emitter.emit?.(run);
        return before;
      },
    });
    emitter.emit = (r) => client.emit('run.updated', { run: r, metrics: [] });
    const dashboard = await screen.findByTestId('run-dashboard');
    fireEvent.click(within(dashboard).getByTestId('run-pause'));
    await waitFor(() => expect(within(dashboard).getByTestId('run-status').textContent).toBe('Paused'));
    await waitFor(() => expect((within(dashboard).getByTestId('run-resume') as HTMLButtonElement).disabled).toBe(false));
    expect(within(dashboard).getByTestId('run-status-sentence').textContent).toBe('Paused at step 121. Resume to carry on from there.');
  });

  it('offers to resume an interrupted run, and a failed one, whose failure is a sentence', async () => {
    renderTraining({
      'runs.list': () => [
        makeRun({ id: 'i', status: 'interrupted', checkpointStep: 300, step: 310 }),
        makeRun({ id: 'f', status: 'failed', error: { kind: 'internal', message: 'The graphics card ran out of memory. Try a smaller batch.' } }),
      ],
      'runs.get': ({ runId }) => ({ run: makeRun({ id: runId, status: runId === 'i' ? 'interrupted' : 'failed', checkpointStep: 300, step: 310, error: runId === 'f' ? { kind: 'internal', message: 'The graphics card ran out of memory. Try a smaller batch.' } : null }), metrics: [] }),
    });
    const dashboard = await screen.findByTestId('run-dashboard');
    expect(within(dashboard).getByTestId('run-status-sentence').textContent).toBe('GAN Augment closed while this was training; resume from step 300.');
    expect((within(dashboard).getByTestId('run-resume') as HTMLButtonElement).disabled).toBe(false);
    fireEvent.click(screen.getAllByTestId('run-row')[1]!);
    await waitFor(() => expect(screen.getByTestId('run-status-sentence').textContent).toBe('The graphics card ran out of memory. Try a smaller batch. Resume tries again from step 300.'));
    expect((screen.getByTestId('run-resume') as HTMLButtonElement).disabled).toBe(false); // try again
    expect((screen.getByTestId('run-stop') as HTMLButtonElement).disabled).toBe(true);
    expect(screen.queryByTestId('train-longer')).toBeNull(); // Resume is the way on, not a new total
  });
});

describe('Delete a run', () => {
  it('says what goes and what it frees, deletes after a second click, and shows the run left', async () => {
    // a paused run can be deleted (it is not training)
    let runs: Run[] = [makeRun({ id: 'a', status: 'paused' }), makeRun({ id: 'b', status: 'completed', step: 600, checkpointStep: 600 })];
    const { client } = renderTraining({
      'runs.list': () => runs,
      'runs.get': ({ runId }) => ({ run: runs.find((r) => r.id === runId)!, metrics: [] }),
      'runs.footprint': ({ runId }) => ({ runId, diskBytes: 79_400_000, generatedImages: 128 }),
      'runs.delete': ({ runId }) => {
        runs = runs.filter((r) => r.id !== runId);
        return { runId, diskBytes: 79_400_000, generatedImages: 128 };
      },
    });
    const dashboard = await screen.findByTestId('run-dashboard');
    expect(dashboard.getAttribute('data-run-id')).toBe('a');
    // each run's row says what it takes on the disk
    await waitFor(() => expect(screen.getAllByTestId('run-disk').map((e) => e.textContent)).toEqual([' · 79 MB on the disk', ' · 79 MB on the disk']));
    fireEvent.click(within(dashboard).getByTestId('run-delete'));
    const sentence = await screen.findByTestId('delete-run-sentence');
    expect(sentence.textContent).toBe(
      "This deletes the run's checkpoints, sample images and loss history, and the 128 images generated from it, freeing 79 MB on the disk. It cannot be undone.",
    );
    // "Keep the run" deletes nothing
    fireEvent.click(screen.getByRole('button', { name: 'Keep the run' }));
    await waitFor(() => expect(screen.queryByTestId('delete-run-sentence')).toBeNull());
    expect(client.calls.some((c) => c.name === 'runs.delete')).toBe(false);

    fireEvent.click(within(screen.getByTestId('run-dashboard')).getByTestId('run-delete'));
    // The button is enabled once what the run takes is measured (the sentence shows); a click
    // before that is ignored, as it would be for a person (this raced under load in CI).
    await screen.findByTestId('delete-run-sentence');
    await waitFor(() => expect((screen.getByTestId('delete-run-confirm') as HTMLButtonElement).disabled).toBe(false));
    fireEvent.click(screen.getByTestId('delete-run-confirm'));
    await waitFor(() => expect(client.calls.find((c) => c.name === 'runs.delete')?.input).toEqual({ runId: 'a' }));
    expect(await screen.findByText('Deleted run a and its 128 generated images: 79 MB freed.')).toBeTruthy();
    await waitFor(() => expect(screen.getAllByTestId('run-row').map((r) => r.getAttribute('data-run-id'))).toEqual(['b']));
    expect(screen.getByTestId('run-dashboard').getAttribute('data-run-id')).toBe('b');

    // a run that trains cannot be deleted
    expect((screen.getByTestId('run-delete') as HTMLButtonElement).disabled).toBe(false);
    const measuresOfB = () => client.calls.filter((c) => c.name === 'runs.footprint' && (c.input as { runId: string }).runId === 'b').length;
    const before = measuresOfB();
    act(() => client.emit('run.updated', { run: makeRun({ id: 'b', status: 'running', updatedAt: '2025-01-01T11:00:00.000Z' }), metrics: [] }));
    await waitFor(() => expect((screen.getByTestId('run-delete') as HTMLButtonElement).disabled).toBe(true));
    await waitFor(() => expect(measuresOfB()).toBe(before + 1)); // its row measures it again (status and checkpoint changed)

    // deleted in another window: off the list, and the empty state is back
    act(() => client.emit('run.deleted', { runId: 'b' }));
    await waitFor(() => expect(screen.queryAllByTestId('run-row')).toHaveLength(0));
    expect(screen.queryByTestId('run-dashboard')).toBeNull();
  });

  it('says so when what the run takes cannot be measured, and measures again on Try again', async () => {
    const run = makeRun({ id: 'a', status: 'stopped' });
    let failNext = false;
    renderTraining({
      'runs.list': () => [run],
      'runs.get': () => ({ run, metrics: [] }),
      'runs.footprint': ({ runId }) => {
        if (failNext) {
          failNext = false;
          fail('read-only', 'GAN Augment is not allowed to read the run folder.');
        }
        return { runId, diskBytes: 164_000, generatedImages: 0 };
      },
    });
    expect((await screen.findByTestId('run-disk')).textContent).toBe(' · 164 KB on the disk'); // the runs list's own measure
    failNext = true;
    fireEvent.click(await screen.findByTestId('run-delete'));
    expect(await screen.findByText('GAN Augment is not allowed to read the run folder.')).toBeTruthy();
    expect((screen.getByTestId('delete-run-confirm') as HTMLButtonElement).disabled).toBe(true); // nothing said, nothing deleted
    fireEvent.click(screen.getByRole('button', { name: 'Try again' }));
    expect((await screen.findByTestId('delete-run-sentence')).textContent).toMatch(/freeing 164 KB/);
    expect((screen.getByTestId('delete-run-confirm') as HTMLButtonElement).disabled).toBe(false);
  });

  it('says why in words when the deletion is refused, and keeps the run', async () => {
    const run = makeRun({ id: 'a', status: 'stopped' });
    renderTraining({
      'runs.list': () => [run],
      'runs.get': () => ({ run, metrics: [] }),
      'runs.footprint': ({ runId }) => ({ runId, diskBytes: 164_000, generatedImages: 0 }),
      'runs.delete': () => fail('conflict', 'Images are being generated from run a. Wait for that to finish, or cancel it, then delete the run.'),
    });
    fireEvent.click(await screen.findByTestId('run-delete'));
    expect((await screen.findByTestId('delete-run-sentence')).textContent).toBe(
      "This deletes the run's checkpoints, sample images and loss history, freeing 164 KB on the disk. It cannot be undone.",
    );
    fireEvent.click(screen.getByTestId('delete-run-confirm'));
    expect(await screen.findByText(/Images are being generated from run a/)).toBeTruthy();
    expect(screen.getAllByTestId('run-row')).toHaveLength(1);
  });
});

describe('Train longer', () => {
  it('offers a run stopped before its total that total again', async () => {
    const stopped: Run = makeRun({ status: 'stopped', step: 29, totalSteps: 300, checkpointStep: 29 });
    renderTraining({ 'runs.list': () => [stopped], 'runs.get': () => ({ run: stopped, metrics: makeMetrics(1, 29) }) });
    const box = await screen.findByTestId('train-longer');
    expect((within(box).getByLabelText('Train longer, up to step') as HTMLInputElement).value).toBe('300');
  });

  it('continues a completed run up to a larger total', async () => {
    const done: Run = makeRun({ status: 'completed', step: 100, totalSteps: 100, checkpointStep: 100 });
    const { client } = renderTraining({
      'runs.list': () => [done],
      'runs.get': () => ({ run: done, metrics: makeMetrics(1, 100) }),
      'runs.resume': (input) => ({ ...done, status: 'queued', totalSteps: input.steps ?? done.totalSteps }),
    });
    const box = await screen.findByTestId('train-longer');
    const input = within(box).getByLabelText('Train longer, up to step');
    expect((input as HTMLInputElement).value).toBe('200'); // completed: twice its total
    fireEvent.change(input, { target: { value: '250' } });
    fireEvent.click(within(box).getByRole('button', { name: 'Train longer' }));
    await waitFor(() => expect(client.calls.find((c) => c.name === 'runs.resume')?.input).toEqual({ runId: done.id, steps: 250 }));
  });
});

import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { useEffect, useState } from 'react';
import { describe, expect, it } from 'vitest';
import type { Job } from '../../../shared/contract';
import { Root } from '../../Root';
import { createFakeClient, fail, makeJob, type FakeClient, type FakeHandlers } from '../../test-utils/fakeClient';
import { applyJobUpdate } from '../jobs/jobsState';
import { makeRun, testBalance } from '../training/testData';
import { GalleryScreen } from './GalleryScreen';
import type { GeneratedImage } from './generateState';


const image = (id: number, className: string): GeneratedImage => ({
  id,
  runId: 'run-1',
  checkpointStep: 600,
  className,
  seed: 9,
  latentIndex: id - 1,
  file: `/p/generated/${id}.png`,
  thumb: 'data:image/png;base64,iVBORw0KGgo=',
  createdAt: '2025-01-01T10:00:00.000Z',
});

function renderGallery(handlers: FakeHandlers) {
  const client = createFakeClient({ 'balance.get': () => testBalance, 'generated.list': () => [], ...handlers });
  render(
    <Root client={client} env="test">
      <Harness client={client} />
    </Root>,
  );
  return client;
}

/** The Gallery, its jobs list kept as useSession keeps it (`jobs`: those from before the screen opened). */
function Harness({ client, jobs: initial = [] }: { client: FakeClient; jobs?: Job[] }) {
  const [jobs, setJobs] = useState<Job[]>(initial);
  const onJob = (job: Job) => setJobs((j) => applyJobUpdate(j, job));
  useEffect(() => client.on('job.updated', (job) => setJobs((j) => applyJobUpdate(j, job))), [client]);
  return <GalleryScreen jobs={jobs} onJob={onJob} onGoToTraining={() => {}} />;
}

describe('GalleryScreen generation', () => {
  it('opened again while a generation runs: its progress and Cancel are there, and Generate waits', async () => {
    const running = makeJob({ id: 'gen-9', type: 'generate', title: 'Generate 6 images of melanoma', status: 'running', progress: { done: 2, total: 6, unit: 'images', ratePerSecond: null, etaSeconds: null } });
    const client = createFakeClient({
      'balance.get': () => testBalance,
      'generated.list': () => [],
      'runs.list': () => [makeRun({ status: 'completed', step: 600, checkpointStep: 600 })],
      'generate.disk': () => ({ bytesPerImage: 9_000, measured: true, freeBytes: 40_000_000 }),
      'jobs.cancel': () => ({ ...running, status: 'stopped' }),
    });
    render(
      <Root client={client} env="test">
        <Harness client={client} jobs={[running]} />
      </Root>,
    );
    expect((await screen.findByTestId('job-progress')).textContent).toMatch(/2 of 6 images/);
    expect((screen.getByTestId('generate-start') as HTMLButtonElement).disabled).toBe(true);
    fireEvent.click(within(screen.getByTestId('job-progress')).getByRole('button', { name: /Cancel/ }));
    await waitFor(() => expect(client.calls.find((c) => c.name === 'jobs.cancel')?.input).toEqual({ id: 'gen-9' }));
  });


  it("says how many images a class has where the list shows only the newest of them", async () => {
    renderGallery({
      'runs.list': () => [makeRun({ status: 'completed', step: 600, checkpointStep: 600 })],
      'generated.list': () => [1, 2, 3].map((i) => image(i, 'melanoma')),
      'generated.counts': () => ({ melanoma: 1_106 }),
    });
    await waitFor(() => expect(screen.getByTestId('generated-class').textContent).toContain('1,106 images, the newest 3 shown'));
  });

  it('a generation waiting behind a training run says so, and can pause that run to go first', async () => {
    const queued = makeJob({ id: 'gen-2', type: 'generate', title: 'Generate 6 images of melanoma', status: 'queued', progress: { done: 0, total: 6, unit: 'images', ratePerSecond: null, etaSeconds: null } });
    const training = makeJob({ id: 'train-7', type: 'train', title: 'Train run-7', status: 'running' });
    const runs = [makeRun({ id: 'done', status: 'completed', step: 600, checkpointStep: 600 }), makeRun({ id: 'run-7', status: 'running', jobId: 'train-7' })];
    const client = createFakeClient({
      'balance.get': () => testBalance,
      'generated.list': () => [],
      'runs.list': () => runs,
      'runs.pause': () => runs[1]!,
    });
    render(
      <Root client={client} env="test">
        <Harness client={client} jobs={[queued, training]} />
      </Root>,
    );
    expect((await screen.findByTestId('job-waiting')).textContent).toMatch(/^Waits for “Train run-7” to finish/);
    fireEvent.click(screen.getByTestId('job-pause-training'));
    await waitFor(() => expect(client.calls.find((c) => c.name === 'runs.pause')?.input).toEqual({ runId: 'run-7' }));
  });

  it('says to train first when no run can generate', async () => {
    renderGallery({ 'runs.list': () => [makeRun({ status: 'running' })] });
    expect((await screen.findByTestId('generate-no-runs')).textContent).toMatch(/No trained model yet/);
    expect(screen.getByText('Gallery')).toBeTruthy();
  });

  it('leaves the disk line out when what the images take cannot be measured, and still generates', async () => {
    const job = makeJob({ id: 'gen-1', type: 'generate', title: 'Generate 4 images of melanoma', status: 'queued', progress: { done: 0, total: 4, unit: 'images', ratePerSecond: null, etaSeconds: null } });
    const client = renderGallery({
      'runs.list': () => [makeRun({ status: 'completed', step: 600, checkpointStep: 600 })],
      'generate.start': () => job,
      'generated.list': () => [],
      'generate.disk': () => fail('read-only', 'GAN Augment is not allowed to read the run folder.'),
    });
    await screen.findByTestId('generate-count');
    await waitFor(() => expect(client.calls.some((c) => c.name === 'generate.disk')).toBe(true));
    expect(screen.queryByTestId('generate-disk')).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'Generate images' }));
    await waitFor(() => expect(client.calls.some((c) => c.name === 'generate.start')).toBe(true));
  });

  it('pre-fills the count from the balance, starts a job, follows it and shows the grid per class', async () => {
    let images: GeneratedImage[] = [];
    const job = makeJob({ id: 'gen-1', type: 'generate', title: 'Generate 4 images of dermatofibroma', status: 'queued', progress: { done: 0, total: 4, unit: 'images', ratePerSecond: null, etaSeconds: null } });
    const client = renderGallery({
      'runs.list': () => [makeRun({ status: 'completed', step: 600, checkpointStep: 600 })],
      'generate.start': () => job,
      'generated.list': () => images,
      // estimated before the run has generated anything; measured on its images after
      'generate.disk': () => (images.length === 0 ? { bytesPerImage: 13_312, measured: false, freeBytes: 40_000_000 } : { bytesPerImage: 9_000, measured: true, freeBytes: 40_000_000 }),
    });
    const count = (await screen.findByTestId('generate-count')) as HTMLInputElement;
    // melanoma needs 1,174: capped at 1,000
    expect(count.value).toBe('1,000');
    expect((await screen.findByTestId('generate-disk')).textContent).toBe('These 1,000 images take up to 13 MB on the disk (40 MB free).');
    fireEvent.change(count, { target: { value: '5000' } });
    await waitFor(() =>
      expect(screen.getByTestId('generate-disk').textContent).toBe(
        'Not enough disk space: these 5,000 images take up to 67 MB, and the disk holding the project has 40 MB free. Free some space, or generate fewer.',
      ),
    );
    fireEvent.change(screen.getByTestId('generate-class'), { target: { value: 'dermatofibroma' } });
    await waitFor(() => expect((screen.getByTestId('generate-count') as HTMLInputElement).value).toBe('1,000'));
    fireEvent.change(screen.getByTestId('generate-count'), { target: { value: '4' } });
    fireEvent.change(screen.getByTestId('generate-seed'), { target: { value: '9' } });
    fireEvent.click(screen.getByRole('button', { name: 'Generate images' }));
    await waitFor(() => expect(client.calls.some((c) => c.name === 'generate.start')).toBe(true));
    expect(client.calls.find((c) => c.name === 'generate.start')?.input).toEqual({ runId: 'run-1', className: 'dermatofibroma', count: 4, seed: 9 });

    act(() => client.emit('job.updated', { ...job, status: 'running', progress: { ...job.progress, done: 2 } }));
    expect((await screen.findByTestId('job-progress')).textContent).toMatch(/2 of 4 images/);

    images = [1, 2, 3, 4].map((i) => image(i, 'dermatofibroma'));
    act(() => client.emit('job.updated', { ...job, status: 'completed', progress: { ...job.progress, done: 4 }, message: 'Generated 4 images.' }));
    expect((await screen.findByTestId('generate-done')).textContent).toBe('Generated 4 images.');
    await waitFor(() => expect(screen.getAllByTestId('generated-thumb')).toHaveLength(4));
    await waitFor(() => expect(screen.getByTestId('generate-disk').textContent).toBe('These 4 images take about 36 KB on the disk (40 MB free).'));
    const section = screen.getByTestId('generated-class');
    expect(within(section).getByText('dermatofibroma')).toBeTruthy();
    expect(screen.getAllByTestId('generated-thumb')[2]!.getAttribute('aria-label')).toBe(
      'dermatofibroma: Made by run-1 at checkpoint step 600; seed 9, latent index 2',
    );
  });
});

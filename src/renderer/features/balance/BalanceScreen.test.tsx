import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { Root } from '../../Root';
import { createFakeClient, fail, makeJob, type FakeHandlers } from '../../test-utils/fakeClient';
import { BalanceScreen } from './BalanceScreen';
import type { BalanceView, SplitsView } from './balanceText';

const balance: BalanceView = {
  classes: [
    { name: 'nevus', count: 1294, share: 0.9, target: 1294, needed: 0, tooSmall: false },
    { name: 'melanoma', count: 120, share: 0.0835, target: 1294, needed: 1174, tooSmall: false },
    { name: 'dermatofibroma', count: 24, share: 0.0165, target: 1294, needed: 1270, tooSmall: true },
  ],
  imbalanceRatio: 1294 / 24,
  targetCount: 1294,
  totalNeeded: 2444,
  target: { mode: 'max' },
  conflicts: 2,
};

const splits: SplitsView = {
  seed: 1234,
  ratios: { train: 0.7, val: 0.15, test: 0.15 },
  grouped: false,
  classes: [{ name: 'nevus', train: 906, val: 194, test: 194 }],
};

function renderBalance(handlers: FakeHandlers) {
  const client = createFakeClient({ 'balance.get': () => balance, 'splits.get': () => splits, ...handlers });
  render(
    <Root client={client} env="test">
      <BalanceScreen onGoToImport={() => {}} />
    </Root>,
  );
  return client;
}

describe('BalanceScreen', () => {
  it('shows the ratio in words, the needed counts, the small-class flag and the conflicts', async () => {
    renderBalance({});
    expect((await screen.findByTestId('imbalance-ratio')).textContent).toBe(
      'The largest class (nevus) has 53.9× as many images as the smallest (dermatofibroma).',
    );
    expect(screen.getByTestId('needed-melanoma').textContent).toBe('1,174');
    expect(screen.getByTestId('needed-nevus').textContent).toBe('—');
    expect(screen.getByTestId('target-sentence').textContent).toMatch(/2,444 generated images are needed/);
    const rows = screen.getAllByTestId('balance-row');
    expect(within(rows[2]!).getByTestId('too-small')).toBeTruthy();
    expect(within(rows[0]!).queryByTestId('too-small')).toBeNull();
    expect(within(rows[1]!).getByText('8.4%')).toBeTruthy();
    expect(screen.getByTestId('balance-conflicts').textContent).toMatch(/2 pictures appear under two labels/);
    // splits
    expect((await screen.findByTestId('split-seed')).textContent).toBe('1234');
    expect(screen.getByText(/Generated images only ever go into training/)).toBeTruthy();
  });

  it('decides pictures under two labels, one button each; Undo takes a decision back; the counts reload each time', async () => {
    const THUMB = 'data:image/jpeg;base64,/9j/';
    const all = [
      { id: 'aaaaaaaaaaaa', sha256: 'a'.repeat(64), copies: [{ label: 'melanoma', relPath: 'MEL/x.jpg' }, { label: 'nevus', relPath: 'NV/x.jpg' }], thumb: THUMB },
      { id: 'bbbbbbbbbbbb', sha256: 'b'.repeat(64), copies: [{ label: 'melanoma', relPath: 'MEL/y.jpg' }, { label: 'nevus', relPath: 'NV/y.jpg' }], thumb: null },
    ];
    const undecided = new Set(all.map((c) => c.id));
    const current = () => ({ ...balance, conflicts: undecided.size });
    const client = renderBalance({
      'balance.get': current,
      'conflicts.list': () => all.filter((c) => undecided.has(c.id)),
      'conflicts.decide': ({ id, label }) => {
        undecided.delete(id);
        return { decided: all.find((c) => c.id === id)!, label, remaining: undecided.size };
      },
      'conflicts.undo': ({ id }) => {
        undecided.add(id);
        return { sha256: all.find((c) => c.id === id)!.sha256, remaining: undecided.size };
      },
    });
    const note = () => screen.queryByTestId('balance-conflicts')?.textContent ?? null;
    fireEvent.click(await screen.findByTestId('conflicts-decide'));
    const dialog = await screen.findByRole('dialog');
    await waitFor(() => expect(within(dialog).getAllByTestId('conflict')).toHaveLength(2));
    const [first, second] = within(dialog).getAllByTestId('conflict');
    expect(first!.textContent).toMatch(/Imported as melanoma from MEL\/x\.jpgImported as nevus from NV\/x\.jpg/);
    expect(within(first!).getByRole('img').getAttribute('src')).toBe(THUMB);
    expect(within(second!).getByText('no preview')).toBeTruthy();
    expect(within(dialog).getByTestId('conflicts-left').textContent).toBe('2 left to decide.');

    fireEvent.click(within(first!).getByRole('button', { name: 'It is nevus' }));
    await waitFor(() => expect(within(first!).getByTestId('conflict-decision').textContent).toBe('Counts as nevus.'));
    expect(client.calls.find((c) => c.name === 'conflicts.decide')?.input).toEqual({ id: 'aaaaaaaaaaaa', label: 'nevus' });
    await waitFor(() => expect(note()).toMatch(/^1 picture appears under two labels\. It is kept out/));

    fireEvent.click(within(second!).getByRole('button', { name: 'Keep it out' }));
    await waitFor(() => expect(within(second!).getByTestId('conflict-decision').textContent).toBe('Kept out of training.'));
    expect(within(dialog).getByTestId('conflicts-left').textContent).toBe('All decided.');
    await waitFor(() => expect(note()).toBeNull()); // the note goes; the dialog stays, for Undo

    fireEvent.click(within(first!).getByRole('button', { name: 'Undo' }));
    await waitFor(() => expect(within(first!).getByRole('button', { name: 'It is nevus' })).toBeTruthy());
    expect(client.calls.find((c) => c.name === 'conflicts.undo')?.input).toEqual({ id: 'aaaaaaaaaaaa' });
    await waitFor(() => expect(note()).toMatch(/^1 picture appears under two labels/));
    expect(within(dialog).getByTestId('conflicts-left').textContent).toBe('1 left to decide.');
    expect(client.calls.filter((c) => c.name === 'splits.get').length).toBeGreaterThanOrEqual(4); // the split counts are read again each time

    fireEvent.click(within(dialog).getByTestId('conflicts-done'));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
  });

  it('says so when the pictures under two labels cannot be loaded, and loads them on Try again', async () => {
    let asked = 0;
    renderBalance({
      'conflicts.list': () => {
        if (++asked === 1) fail('internal', 'Something unexpected went wrong (database is locked).');
        return [{ id: 'aaaaaaaaaaaa', sha256: 'a'.repeat(64), copies: [{ label: 'melanoma', relPath: 'MEL/x.jpg' }, { label: 'nevus', relPath: 'NV/x.jpg' }], thumb: null }];
      },
    });
    fireEvent.click(await screen.findByTestId('conflicts-decide'));
    const dialog = await screen.findByRole('dialog');
    expect(await within(dialog).findByText('Something unexpected went wrong (database is locked).')).toBeTruthy();
    fireEvent.click(within(dialog).getByRole('button', { name: 'Try again' }));
    await waitFor(() => expect(within(dialog).getAllByTestId('conflict')).toHaveLength(1));
  });

  it('changes the target and shows thumbnails of a clicked class', async () => {
    const client = renderBalance({
      'balance.setTarget': ({ target }) => ({ ...balance, target, targetCount: 120, totalNeeded: 96 }),
      'classes.samples': () => [{ id: 1, relPath: 'melanoma/a.jpg', thumb: 'data:image/webp;base64,AAAA' }],
    });
    await screen.findByTestId('imbalance-ratio');
    fireEvent.click(screen.getByText('Match median'));
    await waitFor(() => expect(client.calls.some((c) => c.name === 'balance.setTarget')).toBe(true));
    expect(client.calls.find((c) => c.name === 'balance.setTarget')?.input).toEqual({ target: { mode: 'median' } });
    expect(await screen.findByText(/median class size \(120 images\), 96 generated images/)).toBeTruthy();

    fireEvent.click(screen.getByRole('button', { name: 'Show examples of melanoma' }));
    expect(await screen.findByAltText('melanoma/a.jpg')).toBeTruthy();
  });

  it('validates the split form in words', async () => {
    renderBalance({});
    fireEvent.click(await screen.findByTestId('change-split'));
    // what applying does, before it is done
    expect(screen.getByTestId('split-redraw-note').textContent).toMatch(/^Applying draws every image again, so images a model has trained on may move/);
    fireEvent.change(screen.getByLabelText(/^Test %/), { target: { value: '10' } });
    expect(await screen.findByText('The three shares add up to 95%; they must add up to 100%.')).toBeTruthy();
  });

  it('has an empty state that links to Import, and reloads after an import finishes', async () => {
    let current: BalanceView = { ...balance, classes: [], imbalanceRatio: null, targetCount: 0, totalNeeded: 0, conflicts: 0 };
    const client = renderBalance({ 'balance.get': () => current });
    expect(await screen.findByTestId('balance-empty')).toBeTruthy();
    expect(screen.getByRole('link', { name: 'Go to Import' })).toBeTruthy();
    current = balance;
    client.emit('job.updated', makeJob({ type: 'import', status: 'completed' }));
    expect(await screen.findByTestId('imbalance-ratio')).toBeTruthy();
  });
});

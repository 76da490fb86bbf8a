import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { useDraft } from './useDraft';

function Field({ draftKey, initial }: { draftKey: string; initial: string }) {
  const [value, setValue] = useDraft(draftKey, initial);
  return <input aria-label="field" value={value} onChange={(e) => setValue(e.currentTarget.value)} />;
}

const field = () => screen.getByLabelText('field') as HTMLInputElement;

describe('useDraft', () => {
  it('keeps what the person set across visits, and nothing they did not touch', () => {
    render(<Field draftKey="form:a:x" initial="first default" />);
    cleanup();
    // never touched: the next visit takes its (possibly new) default, not the old one
    render(<Field draftKey="form:a:x" initial="second default" />);
    expect(field().value).toBe('second default');
    fireEvent.change(field(), { target: { value: 'typed' } });
    cleanup();
    render(<Field draftKey="form:a:x" initial="third default" />);
    expect(field().value).toBe('typed');
    cleanup();
    // another project's form: its own
    render(<Field draftKey="form:b:x" initial="b default" />);
    expect(field().value).toBe('b default');
  });
});

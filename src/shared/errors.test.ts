import { describe, expect, it } from 'vitest';
import { errorLine } from './errors';

describe('errorLine', () => {
  it('says the title and the message, and a message that only repeats the title once', () => {
    expect(errorLine({ kind: 'cancelled', message: 'Cancelled.' })).toBe('Cancelled.');
    expect(errorLine({ kind: 'cancelled', message: 'Import cancelled. Run it again to continue where it stopped.' })).toBe(
      'Cancelled: Import cancelled. Run it again to continue where it stopped.',
    );
    expect(errorLine({ kind: 'validation', message: 'Choose at least one class.' })).toBe('Please check your input: Choose at least one class.');
  });
});

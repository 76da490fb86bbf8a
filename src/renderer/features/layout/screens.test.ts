import { describe, expect, it } from 'vitest';
import { screenFromHash, shortcutLabel } from './screens';

describe('screenFromHash', () => {
  it('reads the screen from the hash and falls back to the Overview', () => {
    expect(screenFromHash('#/training')).toBe('training');
    expect(screenFromHash('#gallery')).toBe('gallery');
    expect(screenFromHash('')).toBe('overview');
    expect(screenFromHash('#/nonsense')).toBe('overview');
  });
  it('labels shortcuts for the platform', () => {
    expect(shortcutLabel(0, false)).toBe('Ctrl+1');
    expect(shortcutLabel(6, true)).toBe('⌘7');
  });
});

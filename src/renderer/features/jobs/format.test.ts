import { describe, expect, it } from 'vitest';
import { formatAgo, formatCount, formatEta, formatProgressLine, formatRate, progressPercent } from './format';

describe('formatEta', () => {
  it.each([
    [null, 'estimating time left…'],
    [3, 'a few seconds left'],
    [30, 'less than a minute left'],
    [70, 'about 1 minute left'],
    [121, 'about 2 minutes left'],
    [44 * 60, 'about 44 minutes left'],
    [58 * 60, 'about 1 hour left'],
    [80 * 60, 'about 1 hour 20 minutes left'],
    [3 * 3600 + 2 * 60, 'about 3 hours left'],
    [3 * 86400, 'about 3 days left'],
  ])('%s seconds -> %s', (seconds, words) => {
    expect(formatEta(seconds)).toBe(words);
  });
});

describe('formatRate', () => {
  it('switches to per minute or per hour when slow', () => {
    expect(formatRate(134.2, 'files')).toBe('134 files per second');
    expect(formatRate(2.345, 'steps')).toBe('2.3 steps per second');
    expect(formatRate(0.5, 'steps')).toBe('30 steps per minute');
    expect(formatRate(1 / 600, 'images')).toBe('6 images per hour');
    expect(formatRate(null, 'files')).toBeNull();
    expect(formatRate(0, 'files')).toBeNull();
  });
});

describe('progress', () => {
  it('counts with and without a known total', () => {
    expect(formatCount({ done: 9120, total: 25331, unit: 'files' })).toBe('9,120 of 25,331 files');
    expect(formatCount({ done: 12, total: null, unit: 'files' })).toBe('12 files');
    expect(progressPercent({ done: 25, total: 100 })).toBe(25);
    expect(progressPercent({ done: 0, total: 0 })).toBe(100);
    expect(progressPercent({ done: 5, total: null })).toBeNull();
  });

  it('joins count, rate and time left', () => {
    expect(formatProgressLine({ done: 120, total: 400, unit: 'files', ratePerSecond: 35, etaSeconds: 8 })).toBe(
      '120 of 400 files · 35 files per second · a few seconds left',
    );
    expect(formatProgressLine({ done: 400, total: 400, unit: 'files', ratePerSecond: null, etaSeconds: null })).toBe(
      '400 of 400 files',
    );
  });
});

describe('formatAgo', () => {
  const now = Date.parse('2025-06-10T12:00:00Z');
  it('says how long ago in words', () => {
    expect(formatAgo('2025-06-10T11:59:30Z', now)).toBe('just now');
    expect(formatAgo('2025-06-10T09:00:00Z', now)).toBe('3 hours ago');
    expect(formatAgo('2025-06-09T12:00:00Z', now)).toBe('yesterday');
    expect(formatAgo('not a date', now)).toBe('');
  });
});

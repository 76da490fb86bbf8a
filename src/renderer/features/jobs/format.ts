/** Progress in words: "120 of 400 files", "35 files per second", "about 2 minutes left". */
import type { Progress } from '../../../shared/contract';

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** Time left in words, rounded the way a person would say it. */
export function formatEta(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return 'estimating time left…';
  if (seconds < 10) return 'a few seconds left';
  if (seconds < 50) return 'less than a minute left';
  if (seconds < 90) return 'about 1 minute left';
  const minutes = Math.round(seconds / 60);
  if (minutes < 55) return `about ${minutes} minutes left`;
  if (seconds < 24 * 3600) {
    // Nearest 10 minutes once past an hour; "1 hour 58 minutes" is false precision.
    const tenths = Math.round(seconds / 600);
    const hours = Math.floor(tenths / 6);
    const rest = (tenths % 6) * 10;
    return rest === 0 ? `about ${plural(hours, 'hour', 'hours')} left` : `about ${plural(hours, 'hour', 'hours')} ${rest} minutes left`;
  }
  const days = Math.round(seconds / 86400);
  return `about ${plural(days, 'day', 'days')} left`;
}

function formatAmount(n: number): string {
  if (n >= 100) return Math.round(n).toLocaleString('en');
  if (n >= 10) return String(Math.round(n));
  return String(Math.round(n * 10) / 10);
}

/** A rate, switched to per minute or per hour when it is slow: "35 files per second". */
export function formatRate(ratePerSecond: number | null, unit: string): string | null {
  if (ratePerSecond === null || !Number.isFinite(ratePerSecond) || ratePerSecond <= 0) return null;
  if (ratePerSecond >= 1) return `${formatAmount(ratePerSecond)} ${unit} per second`;
  if (ratePerSecond * 60 >= 1) return `${formatAmount(ratePerSecond * 60)} ${unit} per minute`;
  return `${formatAmount(ratePerSecond * 3600)} ${unit} per hour`;
}

/** "120 of 400 files", or "120 files" while the total is unknown. */
export function formatCount(progress: Pick<Progress, 'done' | 'total' | 'unit'>): string {
  const done = Math.round(progress.done).toLocaleString('en');
  if (progress.total === null) return `${done} ${progress.unit}`;
  return `${done} of ${Math.round(progress.total).toLocaleString('en')} ${progress.unit}`;
}

/** 0..100 for a progress bar, or null while the total is unknown. */
export function progressPercent(progress: Pick<Progress, 'done' | 'total'>): number | null {
  if (progress.total === null) return null;
  if (progress.total === 0) return 100;
  return Math.max(0, Math.min(100, (progress.done / progress.total) * 100));
}

/** One line for a running job: "120 of 400 files · 35 files per second · about 2 minutes left". */
export function formatProgressLine(progress: Progress): string {
  const parts = [formatCount(progress)];
  const rate = formatRate(progress.ratePerSecond, progress.unit);
  if (rate) parts.push(rate);
  if (progress.total !== null && progress.done < progress.total) parts.push(formatEta(progress.etaSeconds));
  return parts.join(' · ');
}

const relative = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });

/** "2 days ago", "yesterday", "just now"; `now` is passed in so tests are stable. */
export function formatAgo(iso: string, now: number = Date.now()): string {
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return '';
  const s = Math.round((then - now) / 1000);
  const abs = Math.abs(s);
  if (abs < 60) return 'just now';
  if (abs < 3600) return relative.format(Math.round(s / 60), 'minute');
  if (abs < 86400) return relative.format(Math.round(s / 3600), 'hour');
  if (abs < 30 * 86400) return relative.format(Math.round(s / 86400), 'day');
  return new Date(then).toLocaleDateString('en', { year: 'numeric', month: 'short', day: 'numeric' });
}

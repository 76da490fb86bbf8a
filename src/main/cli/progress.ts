import type { Job } from '../../shared/contract';

/** "3 minutes", "45 seconds", "about 2 hours" — rounded the way a person says it. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return 'unknown';
  if (seconds < 60) return `${Math.max(1, Math.round(seconds))} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

export function progressLine(job: Job): string {
  const p = job.progress;
  const parts = [job.title];
  if (p.total !== null && p.total > 0) {
    const pct = Math.floor((100 * p.done) / p.total);
    parts.push(`${p.done}/${p.total} ${p.unit} (${pct}%)`);
  } else parts.push(`${p.done} ${p.unit}`);
  if (p.ratePerSecond !== null) parts.push(`${p.ratePerSecond.toFixed(1)} ${p.unit}/s`);
  // Before there is a rate (nothing counted yet: a training run loading its images, an import
  // counting files), the job's own words say what it is doing.
  else if (job.status === 'running' && job.message) parts.push(job.message);
  if (p.etaSeconds !== null && job.status === 'running') parts.push(`ETA ${formatDuration(p.etaSeconds)}`);
  if (job.status !== 'running') parts.push(job.status);
  return parts.join(' · ');
}

const PLAIN_EVERY_MS = 2000; // without a terminal (logs, pipes), one line every 2 s at most

let lastPlain = 0;

/** One updating line on a terminal, occasional plain lines otherwise. */
export function renderProgress(job: Job): void {
  const line = progressLine(job);
  if (process.stderr.isTTY) {
    process.stderr.write(`\r\x1b[2K${line}`);
    return;
  }
  const now = Date.now();
  if (job.status !== 'running' || now - lastPlain >= PLAIN_EVERY_MS) {
    lastPlain = now;
    process.stderr.write(`${line}\n`);
  }
}

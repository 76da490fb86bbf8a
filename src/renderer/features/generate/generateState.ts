/** Pure helpers for generating images from a trained run and showing them per class. */
import type { z } from 'zod';
import type { GeneratedImageSchema, Run } from '../../../shared/contract';

export type GeneratedImage = z.infer<typeof GeneratedImageSchema>;

/** Most images generated in one go by default; more can be asked for, or generated in another batch. */
export const DEFAULT_COUNT_CAP = 1000;
/** Count offered for a class that needs no more images (a quick look at what the model makes). */
export const DEFAULT_COUNT_WHEN_BALANCED = 16;
/** Above this many images in a class the grid renders only the rows in view. */
export const VIRTUALISE_ABOVE = 120;

/** Runs that can generate: finished or paused with a saved checkpoint. */
export function usableRuns(runs: readonly Run[]): Run[] {
  return runs.filter((r) => (r.status === 'completed' || r.status === 'paused' || r.status === 'stopped') && r.checkpointStep !== null && r.checkpointStep > 0);
}

/** The count to offer for a class: what it needs to reach the target, capped; a few when it needs none. */
export function defaultCount(needed: number | undefined): number {
  if (needed === undefined || needed <= 0) return DEFAULT_COUNT_WHEN_BALANCED;
  return Math.min(needed, DEFAULT_COUNT_CAP);
}

/** Newest batch first; within a batch in latent order, so a seed's images stay together. */
function byBatchThenLatent(a: GeneratedImage, b: GeneratedImage): number {
  return b.createdAt.localeCompare(a.createdAt) || a.runId.localeCompare(b.runId) || a.seed - b.seed || a.latentIndex - b.latentIndex || a.id - b.id;
}

/** Images grouped by class name (classes alphabetical; newest batch first, then by latent index). */
export function groupByClass(images: readonly GeneratedImage[]): { className: string; images: GeneratedImage[] }[] {
  const groups = new Map<string, GeneratedImage[]>();
  for (const img of images) {
    const g = groups.get(img.className);
    if (g) g.push(img);
    else groups.set(img.className, [img]);
  }
  return [...groups.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([className, imgs]) => ({ className, images: imgs.sort(byBatchThenLatent) }));
}

/** "Made by run-…-cb37 at checkpoint step 600; seed 42, latent index 3" */
export function provenance(img: Pick<GeneratedImage, 'runId' | 'checkpointStep' | 'seed' | 'latentIndex'>): string {
  return `Made by ${img.runId} at checkpoint step ${img.checkpointStep.toLocaleString('en')}; seed ${img.seed}, latent index ${img.latentIndex}`;
}

/** Rows of `columns` items for a virtualised grid. */
export function chunk<T>(items: readonly T[], columns: number): T[][] {
  const n = Math.max(1, Math.floor(columns));
  const rows: T[][] = [];
  for (let i = 0; i < items.length; i += n) rows.push(items.slice(i, i + n));
  return rows;
}

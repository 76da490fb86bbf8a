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

/**
 * The run the form starts on: the newest that finished all its steps, else the newest usable one (a run
 * stopped or paused early has seen less training). `runs` as `usableRuns` returns them, newest first.
 */
export function preferredRun(runs: readonly Run[]): Run | undefined {
  return runs.find((r) => r.status === 'completed') ?? runs[0];
}

/** The count to offer for a class: what it needs to reach the target, capped; a few when it needs none. */
export function defaultCount(needed: number | undefined): number {
  if (needed === undefined || needed <= 0) return DEFAULT_COUNT_WHEN_BALANCED;
  return Math.min(needed, DEFAULT_COUNT_CAP);
}

/**
 * Images grouped by class name, classes alphabetical. Within a class the order is the list's
 * (`generated.list`: the newest generation first, each in latent order, as asked for). Not re-sorted
 * here by time: each image of a generation has its own time, the later latents the later ones.
 */
export function groupByClass(images: readonly GeneratedImage[]): { className: string; images: GeneratedImage[] }[] {
  const groups = new Map<string, GeneratedImage[]>();
  for (const img of images) {
    const g = groups.get(img.className);
    if (g) g.push(img);
    else groups.set(img.className, [img]);
  }
  return [...groups.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([className, imgs]) => ({ className, images: imgs }));
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

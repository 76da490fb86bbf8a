/**
 * The contract between the window (renderer) and the app (main). Every call the UI can make and
 * every event it can receive, each with a zod schema. Both transports (Electron IPC and the
 * loopback HTTP/WebSocket server) carry exactly this, and main validates every input with it
 * before a service sees it.
 */
import { z } from 'zod';

export const ErrorKindSchema = z.enum([
  'validation',
  'not-found',
  'not-a-project',
  'newer-version',
  'locked',
  'read-only',
  'damaged',
  'disk-full',
  'out-of-memory',
  'device-lost',
  'no-project',
  'conflict',
  'unsupported',
  'cancelled',
  'unauthorized',
  'internal',
]);
export const AppErrorDataSchema = z.object({ kind: ErrorKindSchema, message: z.string(), field: z.string().optional() });

export const JobTypeSchema = z.enum(['verify', 'import', 'train', 'generate', 'evaluate', 'export']);
export type JobType = z.infer<typeof JobTypeSchema>;

/** queued -> running -> (paused <-> running) -> completed | stopped | failed; `interrupted` = the process died mid-job. */
export const JobStatusSchema = z.enum(['queued', 'running', 'paused', 'completed', 'stopped', 'failed', 'interrupted']);
export type JobStatus = z.infer<typeof JobStatusSchema>;
export const FINISHED_STATUSES: readonly JobStatus[] = ['completed', 'stopped', 'failed', 'interrupted'];

export const ProgressSchema = z.object({
  done: z.number().nonnegative(),
  total: z.number().nonnegative().nullable(), // null while unknown
  unit: z.string(), // what is counted, plural: "files", "steps"
  ratePerSecond: z.number().nonnegative().nullable(), // smoothed; null until measurable
  etaSeconds: z.number().nonnegative().nullable(),
});
export type Progress = z.infer<typeof ProgressSchema>;

export const JobSchema = z.object({
  id: z.string(),
  type: JobTypeSchema,
  title: z.string(), // for a person: "Verify project files"
  status: JobStatusSchema,
  progress: ProgressSchema,
  message: z.string().nullable(), // latest plain-language note: "Checked 120 of 400 files"
  error: AppErrorDataSchema.nullable(),
  result: z.unknown().nullable(),
  createdAt: z.string(), // ISO 8601
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
});
export type Job = z.infer<typeof JobSchema>;

export const ClassSummarySchema = z.object({ id: z.number().int(), name: z.string(), imageCount: z.number().int() });
export type ClassSummary = z.infer<typeof ClassSummarySchema>;

export const ProjectStatusSchema = z.object({
  path: z.string(),
  name: z.string(),
  createdAt: z.string(),
  schemaVersion: z.number().int(),
  classes: z.array(ClassSummarySchema),
  imageCount: z.number().int(),
  jobs: z.array(JobSchema), // most recent first
});
export type ProjectStatus = z.infer<typeof ProjectStatusSchema>;

export const RecentProjectSchema = z.object({
  path: z.string(),
  name: z.string(),
  lastOpenedAt: z.string(),
  available: z.boolean(), // false when the folder is gone or no longer a project
});
export type RecentProject = z.infer<typeof RecentProjectSchema>;

export const AppInfoSchema = z.object({
  name: z.string(),
  version: z.string(),
  mode: z.enum(['electron', 'web']),
  platform: z.string(),
  defaultProjectsDir: z.string(),
});
export type AppInfo = z.infer<typeof AppInfoSchema>;

const Empty = z.object({}).strict();
const Ok = z.object({ ok: z.literal(true) });

/** A project name: what the person types; becomes `<name>.ganaug`. */
export const ProjectNameSchema = z
  .string()
  .trim()
  .min(1, 'Give the project a name.')
  .max(120, 'Use a name of at most 120 characters.')
  .refine((s) => !/[/\\:*?"<>|]/.test(s) && ![...s].some((c) => c.charCodeAt(0) < 32), 'A project name cannot contain / \\ : * ? " < > | or control characters.')
  .refine((s) => s !== '.' && s !== '..', 'Choose another name.');

// --- Import, balance, splits ------------------------------------------------------------------

const CsvMappingSchema = z.discriminatedUnion('format', [
  z.object({ format: z.literal('columns'), fileColumn: z.string().min(1), labelColumn: z.string().min(1), groupColumn: z.string().min(1).optional() }).strict(),
  z.object({ format: z.literal('one-hot'), fileColumn: z.string().min(1), labelColumns: z.array(z.string().min(1)).min(2), groupColumn: z.string().min(1).optional() }).strict(),
]);

export const SourceSpecSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('folder'), root: z.string().min(1, 'Choose the folder that holds one subfolder per class.') }).strict(),
  z
    .object({
      kind: z.literal('csv'),
      imagesDir: z.string().min(1, 'Choose the folder that holds the images.'),
      csvFile: z.string().min(1, 'Choose the CSV file with the labels.'),
      mapping: CsvMappingSchema.optional(),
      groupCsv: z.object({ file: z.string().min(1), idColumn: z.string().min(1), groupColumn: z.string().min(1) }).strict().optional(),
    })
    .strict(),
]);

const SourceProblemSchema = z.object({
  kind: z.string(),
  message: z.string(),
  file: z.string().optional(),
  relPath: z.string().optional(),
  row: z.number().optional(),
});

export const ScanSummarySchema = z.object({
  classes: z.array(z.object({ name: z.string(), count: z.number() })),
  total: z.number(),
  problems: z.array(SourceProblemSchema),
  /** The disk the import's training copies and thumbnails take at most, and what is free (null: unknown). */
  disk: z.object({ neededBytes: z.number(), freeBytes: z.number().nullable() }),
});

export const CsvPreviewSchema = z.object({
  columns: z.array(z.string()),
  rows: z.array(z.array(z.string())),
  delimiter: z.string(),
  detectedFormat: z.enum(['one-hot', 'columns']),
  suggested: CsvMappingSchema,
});

export const ImportSummarySchema = z.object({
  importId: z.number(),
  imported: z.number(),
  classes: z.record(z.string(), z.number()),
  rejected: z.array(z.object({ file: z.string(), relPath: z.string(), kind: z.string(), reason: z.string() })),
  duplicates: z.array(z.object({ file: z.string(), relPath: z.string(), duplicateOf: z.string() })),
  conflicts: z.array(z.object({ file: z.string(), relPath: z.string(), labels: z.array(z.string()) })),
  problems: z.array(SourceProblemSchema),
  resumed: z.number(),
  totals: z.object({ rejected: z.number(), duplicates: z.number(), conflicts: z.number(), nearCopies: z.number(), problems: z.number() }).optional(),
});

export const BalanceTargetSchema = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('max') }).strict(),
  z.object({ mode: z.literal('median') }).strict(),
  z.object({ mode: z.literal('custom'), value: z.number().int('Use a whole number.').min(1, 'Use a number of at least 1.').max(1_000_000) }).strict(),
]);

export const BalanceSchema = z.object({
  classes: z.array(
    z.object({ name: z.string(), count: z.number(), share: z.number(), target: z.number(), needed: z.number(), tooSmall: z.boolean() }),
  ),
  imbalanceRatio: z.number().nullable(),
  targetCount: z.number(),
  totalNeeded: z.number(),
  target: BalanceTargetSchema,
  conflicts: z.number(), // images held back until the person resolves their label
});

export const SplitRatiosSchema = z
  .object({ train: z.number().min(0).max(1), val: z.number().min(0).max(1), test: z.number().min(0).max(1) })
  .strict()
  .refine((r) => Math.abs(r.train + r.val + r.test - 1) < 1e-6, 'The three shares must add up to 100%.')
  .refine((r) => r.train > 0, 'The training share must be above 0.');

export const SplitsSchema = z.object({
  seed: z.number().int(),
  ratios: z.object({ train: z.number(), val: z.number(), test: z.number() }),
  grouped: z.boolean(), // true when images carry a group (patient / lesion) id
  classes: z.array(z.object({ name: z.string(), train: z.number(), val: z.number(), test: z.number() })),
});

export const ImageThumbSchema = z.object({ id: z.number(), relPath: z.string(), thumb: z.string().nullable() /* data: URL */ });

// --- Training and generation ---------------------------------------------------------------

export const ModelSchema = z.enum(['dcgan', 'cwgan-gp']);
export const BackendChoiceSchema = z.enum(['auto', 'webgpu', 'tensorflow', 'wasm', 'cpu']);
export const RunStatusSchema = z.enum(['queued', 'running', 'paused', 'completed', 'stopped', 'failed', 'interrupted']);

/** What the person chooses to start a training run. */
export const TrainSettingsSchema = z
  .object({
    model: ModelSchema,
    /** DCGAN: one model per class (one run each); cWGAN-GP: one model for all of these. */
    classes: z.array(z.string().min(1)).min(1, 'Choose at least one class.'),
    resolution: z.union([z.literal(32), z.literal(64), z.literal(128)]),
    preset: z.enum(['default', 'tiny']).default('default'),
    steps: z.number().int().min(1, 'Train for at least 1 step.').max(10_000_000),
    batch: z.number().int().min(1).max(1024).optional(), // default: the preset's
    backend: BackendChoiceSchema.default('auto'),
    diffAugment: z.boolean().default(false),
    seed: z.number().int().min(0).max(2 ** 31 - 1).optional(),
    /** Checkpoint and sample grid every this many steps (default: about 20 per run, at least every 10). */
    checkpointEvery: z.number().int().min(1).optional(),
  })
  .strict();
export type TrainSettings = z.infer<typeof TrainSettingsSchema>;

export const MetricPointSchema = z.object({
  step: z.number(),
  dLoss: z.number().nullable(), // D loss (DCGAN) or critic loss (WGAN-GP)
  gLoss: z.number().nullable(),
  wasserstein: z.number().nullable(),
  gradientPenalty: z.number().nullable(),
  stepMs: z.number(),
  imagesPerSec: z.number(),
});
export type MetricPoint = z.infer<typeof MetricPointSchema>;

export const RunSchema = z.object({
  id: z.string(),
  model: ModelSchema,
  classes: z.array(z.string()),
  resolution: z.number(),
  preset: z.string(),
  batch: z.number(),
  totalSteps: z.number(),
  seed: z.number(),
  backendChoice: BackendChoiceSchema,
  backend: z.string().nullable(), // chosen backend, once the worker started it
  device: z.string().nullable(), // in words: "GPU: NVIDIA H200 (Vulkan), WebGPU"
  backendWarning: z.string().nullable(),
  status: RunStatusSchema,
  step: z.number(),
  checkpointStep: z.number().nullable(),
  sampleStep: z.number().nullable(), // step of the latest sample grid
  imagesPerSec: z.number().nullable(),
  etaSeconds: z.number().nullable(),
  health: z.array(z.string()), // plain-language hints ("The generator may have collapsed...")
  error: AppErrorDataSchema.nullable(),
  jobId: z.string().nullable(),
  /**
   * While a running run prepares its first step: loading the training images (done of total), then
   * starting (building the networks, the first step); `since` = when this last changed. Else null.
   */
  preparing: z
    .object({ stage: z.enum(['loading', 'starting']), done: z.number(), total: z.number(), since: z.string() })
    .nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Run = z.infer<typeof RunSchema>;
export type RunPreparing = NonNullable<Run['preparing']>;

/** The same picture imported under two or more labels, kept out of training until the person decides. */
export const ConflictSchema = z.object({
  /** The start of its content hash: enough to name it (the CLI's `conflicts --decide ID`). */
  id: z.string(),
  sha256: z.string(),
  copies: z.array(z.object({ label: z.string(), relPath: z.string() })),
  thumb: z.string().nullable(), // data: URL
});
export type Conflict = z.infer<typeof ConflictSchema>;

/** Where the project's disk space goes, and what is free on the disk holding it. */
export const ProjectDiskSchema = z.object({
  totalBytes: z.number(),
  /** Training copies and thumbnails of the imported images (`cache/`). */
  imagesBytes: z.number(),
  /** Training runs: their checkpoints and sample grids. */
  runsBytes: z.number(),
  generatedBytes: z.number(),
  /** The database and the rest. */
  recordsBytes: z.number(),
  images: z.number().int(),
  runs: z.number().int(),
  generatedImages: z.number().int(),
  freeBytes: z.number().nullable(),
});
export type ProjectDisk = z.infer<typeof ProjectDiskSchema>;

/** The disk one image generated from a run takes (measured on its earlier images, else estimated), and what is free. */
export const GenerationDiskSchema = z.object({ bytesPerImage: z.number(), measured: z.boolean(), freeBytes: z.number().nullable() });
export type GenerationDisk = z.infer<typeof GenerationDiskSchema>;

/** What deleting a run deletes (before), or deleted (after): the disk its files take, and the images generated from it. */
export const RunFootprintSchema = z.object({ runId: z.string(), diskBytes: z.number(), generatedImages: z.number().int() });
export type RunFootprint = z.infer<typeof RunFootprintSchema>;

export const GeneratedImageSchema = z.object({
  id: z.number(),
  runId: z.string(),
  checkpointStep: z.number(),
  className: z.string(),
  seed: z.number(),
  latentIndex: z.number(),
  file: z.string(), // absolute path of the PNG
  thumb: z.string().nullable(), // data: URL
  createdAt: z.string(),
});

export const JobStartSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('verify') }).strict(),
  z.object({ type: z.literal('import'), source: SourceSpecSchema }).strict(),
]);

export const calls = {
  'app.info': { input: Empty, output: AppInfoSchema },
  'projects.recent': { input: Empty, output: z.array(RecentProjectSchema) },
  'projects.create': {
    input: z.object({ parentDir: z.string().min(1, 'Choose a folder for the project.'), name: ProjectNameSchema }).strict(),
    output: ProjectStatusSchema,
  },
  /** Creates "<name>.ganaug" and starts importing the bundled sample set into it. */
  'projects.createSample': {
    input: z.object({ parentDir: z.string().min(1, 'Choose a folder for the project.'), name: ProjectNameSchema.default('Sample (Fashion-MNIST)') }).strict(),
    output: ProjectStatusSchema,
  },
  'projects.open': { input: z.object({ path: z.string().min(1) }).strict(), output: ProjectStatusSchema },
  'projects.forget': { input: z.object({ path: z.string().min(1) }).strict(), output: Ok },
  'projects.close': { input: Empty, output: Ok },
  'project.current': { input: Empty, output: ProjectStatusSchema.nullable() },
  'project.disk': { input: Empty, output: ProjectDiskSchema },
  'jobs.list': { input: Empty, output: z.array(JobSchema) },
  'jobs.start': { input: JobStartSchema, output: JobSchema },
  'import.previewCsv': { input: z.object({ file: z.string().min(1, 'Choose a CSV file.') }).strict(), output: CsvPreviewSchema },
  'import.scan': { input: z.object({ source: SourceSpecSchema }).strict(), output: ScanSummarySchema },
  /** The latest finished import's full report (lists capped at `limit` each). */
  'import.latest': { input: z.object({ limit: z.number().int().min(1).max(10_000).default(2000) }).strict(), output: ImportSummarySchema.nullable() },
  'balance.get': { input: Empty, output: BalanceSchema },
  'balance.setTarget': { input: z.object({ target: BalanceTargetSchema }).strict(), output: BalanceSchema },
  'classes.samples': {
    input: z.object({ className: z.string().min(1), limit: z.number().int().min(1).max(200).default(24) }).strict(),
    output: z.array(ImageThumbSchema),
  },
  'splits.get': { input: Empty, output: SplitsSchema },
  'conflicts.list': { input: Empty, output: z.array(ConflictSchema) },
  /** `label`: the right label (that copy joins training and the counts); null: keep the picture out. */
  'conflicts.decide': {
    input: z.object({ id: z.string().min(1), label: z.string().min(1).nullable() }).strict(),
    output: z.object({ decided: ConflictSchema, label: z.string().nullable(), remaining: z.number().int() }),
  },
  /** Takes a decision back: the picture is a conflict again (out of training and the counts). */
  'conflicts.undo': { input: z.object({ id: z.string().min(1) }).strict(), output: z.object({ sha256: z.string(), remaining: z.number().int() }) },
  /** Times a few steps on a small batch of the real data: backend in words and an ETA before committing hours. */
  'train.estimate': {
    input: TrainSettingsSchema,
    output: z.object({
      backend: z.string(),
      device: z.string(),
      warning: z.string().nullable(),
      msPerStep: z.number(),
      etaSeconds: z.number(),
      /** One checkpoint of the run's networks (weights and Adam state). */
      checkpointBytes: z.number(),
      /** Disk the runs need at most (checkpoints, samples, metrics). */
      diskNeededBytes: z.number(),
      /** Free on the disk holding the project; null where that cannot be read. */
      diskFreeBytes: z.number().nullable(),
    }),
  },
  /** Queues training: one run (cWGAN-GP) or one run per class (DCGAN). */
  'train.start': { input: TrainSettingsSchema, output: z.array(RunSchema) },
  'runs.list': { input: Empty, output: z.array(RunSchema) },
  'runs.get': { input: z.object({ runId: z.string().min(1) }).strict(), output: z.object({ run: RunSchema, metrics: z.array(MetricPointSchema) }) },
  'runs.pause': { input: z.object({ runId: z.string().min(1) }).strict(), output: RunSchema },
  'runs.resume': { input: z.object({ runId: z.string().min(1), steps: z.number().int().min(1).optional() }).strict(), output: RunSchema },
  'runs.stop': { input: z.object({ runId: z.string().min(1) }).strict(), output: RunSchema },
  'runs.footprint': { input: z.object({ runId: z.string().min(1) }).strict(), output: RunFootprintSchema },
  /** Deletes a run that is not training: checkpoints, samples, loss history, the images generated from it. */
  'runs.delete': { input: z.object({ runId: z.string().min(1) }).strict(), output: RunFootprintSchema },
  /** The latest sample grid (one row per class, fixed latent seeds per column) as a data: URL. */
  'runs.sample': { input: z.object({ runId: z.string().min(1) }).strict(), output: z.object({ step: z.number(), image: z.string() }).nullable() },
  'generate.start': {
    input: z
      .object({
        runId: z.string().min(1),
        className: z.string().min(1),
        count: z.number().int().min(1, 'Generate at least 1 image.').max(10_000),
        seed: z.number().int().min(0).max(2 ** 31 - 1).optional(),
      })
      .strict(),
    output: JobSchema,
  },
  'generate.disk': { input: z.object({ runId: z.string().min(1) }).strict(), output: GenerationDiskSchema },
  /** Generated images per class name, all of them (the list stops at its limit). */
  'generated.counts': { input: Empty, output: z.record(z.string(), z.number().int()) },
  'generated.list': {
    input: z.object({ runId: z.string().optional(), className: z.string().optional(), limit: z.number().int().min(1).max(1000).default(200) }).strict(),
    output: z.array(GeneratedImageSchema),
  },
  'splits.set': { input: z.object({ seed: z.number().int().min(0).max(2 ** 31 - 1), ratios: SplitRatiosSchema }).strict(), output: SplitsSchema },
  'jobs.cancel': { input: z.object({ id: z.string().min(1) }).strict(), output: JobSchema },
  /** A native file dialog (desktop app only; `unsupported` in the browser). `extensions` without dots. */
  'dialog.pickFile': {
    input: z.object({ title: z.string().optional(), extensions: z.array(z.string().regex(/^[A-Za-z0-9]+$/)).optional() }).strict(),
    output: z.object({ path: z.string().nullable() }),
  },
  'dialog.pickFolder': {
    input: z.object({ title: z.string().optional() }).strict(),
    output: z.object({ path: z.string().nullable() }),
  },
} as const;

export const events = {
  'job.updated': JobSchema,
  /** A run changed (status, step, checkpoint, new sample grid); `metrics` holds the points since the last event. */
  'run.updated': z.object({ run: RunSchema, metrics: z.array(MetricPointSchema) }),
  /** A run and the images generated from it were deleted. */
  'run.deleted': z.object({ runId: z.string() }),
  'project.changed': ProjectStatusSchema.nullable(),
} as const;

export type Calls = typeof calls;
export type CallName = keyof Calls;
export type CallInput<N extends CallName> = z.input<Calls[N]['input']>;
export type CallOutput<N extends CallName> = z.output<Calls[N]['output']>;
export type EventName = keyof typeof events;
export type EventPayload<E extends EventName> = z.output<(typeof events)[E]>;

export type CallResult<T> = { ok: true; value: T } | { ok: false; error: z.infer<typeof AppErrorDataSchema> };

export const CALL_NAMES = Object.keys(calls) as CallName[];
export const EVENT_NAMES = Object.keys(events) as EventName[];
export function isCallName(s: string): s is CallName {
  return Object.prototype.hasOwnProperty.call(calls, s);
}

/** Handlers for every call; main implements this once and both transports dispatch into it. */
export type Handlers = { [N in CallName]: (input: z.output<Calls[N]['input']>) => Promise<CallOutput<N>> };

/** The client the renderer uses; the same shape over IPC or HTTP. */
export interface ContractClient {
  call<N extends CallName>(name: N, input: CallInput<N>): Promise<CallOutput<N>>;
  on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): () => void;
}

/** Electron preload exposes this on `window.ganAugment`. */
export interface PreloadBridge {
  invoke(name: string, input: unknown): Promise<unknown>; // resolves to a CallResult
  subscribe(listener: (event: string, payload: unknown) => void): () => void;
}

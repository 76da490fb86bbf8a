/**
 * The `gan-augment` command. Every command uses the same services as the app; progress goes to
 * stderr, results to stdout (`--json`: one JSON object). Exit codes: 0 done, 1 failed, 2 bad usage,
 * 130 interrupted.
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { TrainSettingsSchema, type Conflict, type Job } from '../../shared/contract';
import type { BalanceTarget } from '../../shared/balance';
import { splitNearCopies, type CsvMapping, type CsvPreview, type ImportSummary, type SourceSpec } from '../../shared/import-types';
import { AppError, errorLine, toErrorData } from '../../shared/errors';
import { appRoot, sampleDataDir } from '../paths';
import { startServer } from '../server/server';
import { JobRunner, type JobSpec } from '../services/jobs';
import { getBalance, balanceTarget } from '../services/dataset';
import { importDisk, importSpec } from '../services/import';
import { createRuns, estimate, generateSpec, getRun, listRuns, tooFewSteps, trainSpec, type RunEvent } from '../services/training';
import { deleteRun, footprintOfListedRun, runFootprint } from '../services/run-deletion';
import { decideConflict, listConflicts, undoConflictDecision } from '../services/conflicts';
import { generationDisk, projectDisk } from '../services/project-disk';
import { diskSentence, formatBytes, generationDiskSentence, importDiskSentence, projectDiskParts, projectDiskSentence, runDeletedSentence, runDeletionSentence } from '../../shared/disk';
import { parseOrThrow } from '../../shared/validate';
import { DEFAULT_TRAINING_STEPS, DIFFAUGMENT_SUGGESTED_MAX, suggestDiffAugment } from '../../shared/training-defaults';
import { AppSession } from '../services/session';
import { verifySpec } from '../services/verify';
import { WorkerClient } from '../services/worker-client';
import { appVersion, Project, PROJECT_EXT, resolveProjectDir } from '../store/project';
import { nodeWorkerLauncher } from '../worker-host';
import { formatDuration, renderProgress } from './progress';

function fail(err: unknown, json: boolean): never {
  const e = toErrorData(err);
  if (json) process.stdout.write(JSON.stringify({ ok: false, error: e }) + '\n');
  process.stderr.write(`${errorLine(e)}\n`);
  process.exit(e.kind === 'validation' ? 2 : e.kind === 'cancelled' ? 130 : 1);
}

function parseTarget(v: string): BalanceTarget {
  if (v === 'max' || v === 'median') return { mode: v };
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('Use "max", "median" or a whole number of images.');
  return { mode: 'custom', value: n };
}

function parsePort(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('Use a port number between 0 and 65535.');
  return n;
}

/** Runs one job against a project opened by this process, with a progress line on stderr and Ctrl+C to cancel. */
async function runJobHere(project: Project, spec: JobSpec, quiet: boolean): Promise<unknown> {
  const worker = new WorkerClient(nodeWorkerLauncher);
  let last: Job | undefined;
  const runner = new JobRunner(project, worker, (job) => {
    last = job;
    if (!quiet) renderProgress(job);
  });
  const job = runner.enqueue(spec);
  let presses = 0;
  const onSigint = () => {
    presses += 1;
    if (presses === 1) {
      process.stderr.write('\nCancelling… (press Ctrl+C again to quit at once)\n');
      runner.cancel(job.id);
      return;
    }
    // Quit now: the worker is killed on exit (worker-host); the project stays consistent, and a
    // training run resumes from its last checkpoint.
    process.stderr.write('\nQuitting at once.\n');
    process.exit(130);
  };
  process.on('SIGINT', onSigint);
  try {
    await runner.whenIdle();
  } finally {
    process.off('SIGINT', onSigint);
    worker.dispose();
  }
  const final = runner.get(job.id) ?? last; // the runner's view: a row a full disk did not take is kept there
  if (!quiet) process.stderr.write('\n');
  if (final?.status === 'failed') throw new AppError(final.error?.kind ?? 'internal', final.error?.message ?? 'The task failed.');
  if (final?.status === 'stopped') throw new AppError('cancelled', 'Cancelled. The project is unchanged and consistent.');
  return final?.result;
}

/**
 * Opens a project for writing (taking its lock), runs `fn`, and always closes it; errors end the
 * process in words. `openFailed` may put a failure to open in the command's own words.
 */
async function withProject(
  path: string,
  purpose: string,
  json: boolean,
  fn: (project: Project) => Promise<void>,
  openFailed: (err: unknown) => unknown = (err) => err,
): Promise<void> {
  let project: Project | undefined;
  try {
    project = Project.open(path, { purpose });
  } catch (err) {
    fail(openFailed(err), json);
  }
  try {
    await fn(project);
  } catch (err) {
    project.close();
    fail(err, json);
  }
  project.close();
}

/** Opens a project for reading (no lock: the app may have it open), runs `fn`, and always closes it; errors end the process in words. */
async function withProjectReadOnly(path: string, json: boolean, fn: (project: Project) => void | Promise<void>): Promise<void> {
  let project: Project | undefined;
  try {
    project = Project.openReadOnly(path);
    await fn(project);
  } catch (err) {
    project?.close();
    project = undefined;
    fail(err, json);
  }
  project.close();
}

export function buildProgram(): Command {
  const program = new Command();
  program.exitOverride(); // before the subcommands, which inherit it: usage errors exit with 2, not 1
  program
    .name('gan-augment')
    .description('GAN Augment: balance medical image datasets with generated images.')
    .version(appVersion(), '-v, --version', 'print the version')
    .showHelpAfterError('(run "gan-augment --help" for usage)')
    .configureOutput({ outputError: (str, write) => write(str) });

  program
    .command('init')
    .description('create a new, empty project folder (<dir>.ganaug)')
    .argument('<dir>', 'where to create the project; ".ganaug" is added if missing')
    .option('--sample', 'fill it with the bundled sample set (430 Fashion-MNIST images in 5 lopsided classes)')
    .option('--json', 'print the result as JSON')
    .action(async (dir: string, o: { json?: boolean; sample?: boolean }) => {
      let project: Project | undefined;
      try {
        const abs = resolve(dir);
        project = Project.create(dirname(abs), basename(abs), { purpose: 'gan-augment init' });
        if (o.sample) await runJobHere(project, importSpec({ kind: 'folder', root: sampleDataDir() }), !!o.json);
        const status = project.status();
        project.close();
        project = undefined;
        if (o.json) process.stdout.write(JSON.stringify(status) + '\n');
        else {
          process.stdout.write(`Created project "${status.name}" at ${status.path}\n`);
          if (o.sample) process.stdout.write(`Imported the sample set: ${status.classes.map((c) => `${c.name} ${c.imageCount}`).join(', ')}\n`);
        }
      } catch (err) {
        project?.close();
        fail(err, !!o.json);
      }
    });

  program
    .command('status')
    .description('show a project: classes, images, recent jobs')
    .argument('<project>', `project folder (ending in ${PROJECT_EXT})`)
    .option('--json', 'print the result as JSON')
    .action(async (path: string, o: { json?: boolean }) => {
      try {
        const project = Project.openReadOnly(path);
        const status = project.status();
        let disk: Awaited<ReturnType<typeof projectDisk>>;
        try {
          disk = await projectDisk(project);
        } finally {
          project.close();
        }
        if (o.json) {
          process.stdout.write(JSON.stringify({ ...status, disk }) + '\n');
          return;
        }
        const lines = [
          `Project:  ${status.name}`,
          `Folder:   ${status.path}`,
          `Format:   ${status.schemaVersion}`,
          `Images:   ${status.imageCount}`,
          `Classes:  ${status.classes.length === 0 ? 'none yet (import images first)' : status.classes.map((c) => `${c.name} (${c.imageCount})`).join(', ')}`,
          `Jobs:     ${status.jobs.length === 0 ? 'none' : status.jobs.slice(0, 5).map((j) => `${j.title}: ${j.status}`).join('; ')}`,
          `Disk:     ${projectDiskSentence(disk)}`,
          ...projectDiskParts(disk).map((p) => `            ${p.label}: ${formatBytes(p.bytes)}`),
        ];
        process.stdout.write(lines.join('\n') + '\n');
      } catch (err) {
        fail(err, !!o.json);
      }
    });

  program
    .command('verify')
    .description("re-check every file's hash against what was recorded at import")
    .argument('<project>', 'project folder')
    .option('--json', 'print the result as JSON')
    .action((path: string, o: { json?: boolean }) =>
      withProject(path, 'gan-augment verify', !!o.json, async (project) => {
        const result = await runJobHere(project, verifySpec(), false);
        if (o.json) process.stdout.write(JSON.stringify(result) + '\n');
        else process.stdout.write(`${project.jobs.list(1)[0]?.message ?? 'Done.'}\n`);
      }),
    );

  program
    .command('import')
    .description('import labelled images: a folder of class subfolders, or images plus a CSV of labels')
    .argument('<project>', 'project folder')
    .argument('<source>', 'folder with one subfolder per class, or (with --labels) the folder holding the images')
    .option('--labels <csv>', 'CSV of labels: "filename,label" columns or the ISIC one-hot format (detected)')
    .option('--file-column <name>', 'CSV column with the file name or image id')
    .option('--label-column <name>', 'CSV column with the class label')
    .option('--group-column <name>', 'CSV column with a patient or lesion id, kept together in splits')
    .option('--json', 'print the result as one JSON object')
    .action((path: string, sourceDir: string, o: { labels?: string; fileColumn?: string; labelColumn?: string; groupColumn?: string; json?: boolean }) =>
      withProject(path, 'gan-augment import', !!o.json, async (project) => {
        let source: SourceSpec;
        if (o.labels) {
          let mapping: CsvMapping | undefined;
          if (o.fileColumn || o.labelColumn) {
            if (!o.fileColumn || !o.labelColumn) throw new AppError('validation', 'Give both --file-column and --label-column, or neither (then they are detected).');
            mapping = { format: 'columns', fileColumn: o.fileColumn, labelColumn: o.labelColumn, ...(o.groupColumn ? { groupColumn: o.groupColumn } : {}) };
          } else if (o.groupColumn) {
            // The columns detected as the app's wizard detects them, with this group column: without it
            // one patient's images could land in both the training and the test split.
            const worker = new WorkerClient(nodeWorkerLauncher);
            try {
              const preview = (await worker.runTask({ kind: 'preview-csv', file: resolve(o.labels), rows: 1 })) as CsvPreview;
              mapping = { ...preview.suggested, groupColumn: o.groupColumn };
            } finally {
              worker.dispose();
            }
          }
          source = { kind: 'csv', imagesDir: sourceDir, csvFile: o.labels, ...(mapping ? { mapping } : {}) };
        } else source = { kind: 'folder', root: sourceDir };
        let summary: ImportSummary | undefined;
        // Once the files are counted: what they take on the disk at most, as the app's wizard says before it starts.
        const onCounted = (files: number) =>
          process.stderr.write(`${process.stderr.isTTY ? '\r\x1b[2K' : ''}${importDiskSentence(importDisk(project.dir, files))}\n`);
        await runJobHere(project, importSpec(source, { onSummary: (s) => (summary = s), onCounted }), false);
        if (!summary) throw new AppError('internal', 'The import ended without a report.');
        if (o.json) process.stdout.write(JSON.stringify(summary) + '\n');
        else {
          const lines = [`Imported ${summary.imported} images into ${Object.keys(summary.classes).length} classes.`];
          for (const [name, n] of Object.entries(summary.classes)) lines.push(`  ${name}: ${n}`);
          if (summary.resumed) lines.push(`Resumed: ${summary.resumed} files had been done by an earlier, interrupted run.`);
          if (summary.duplicates.length) lines.push(`Duplicates (imported once): ${summary.duplicates.length}`);
          if (summary.conflicts.length) {
            lines.push(`Conflicts (same image under several labels; held back from training until decided with "gan-augment conflicts"): ${summary.conflicts.length}`);
            for (const c of summary.conflicts.slice(0, 10)) lines.push(`  ${c.relPath}: ${c.labels.join(' / ')}`);
          }
          if (summary.rejected.length) {
            lines.push(`Rejected: ${summary.rejected.length}`);
            for (const r of summary.rejected.slice(0, 20)) lines.push(`  ${r.relPath}: ${r.reason}`);
          }
          const { nearCopies, others } = splitNearCopies(summary.problems);
          if (nearCopies.length) {
            lines.push(
              `Images with near-copies to check (imported; each looks almost the same as another: if two show the same patient or lesion, remove one): ${nearCopies.length}`,
            );
            for (const p of nearCopies.slice(0, 10)) lines.push(`  ${p.message}`);
          }
          if (others.length) {
            lines.push(`Other problems: ${others.length}`);
            for (const p of others.slice(0, 20)) lines.push(`  ${p.message}`);
          }
          process.stdout.write(lines.join('\n') + '\n');
        }
      }),
    );

  program
    .command('balance')
    .description('how many images each class has, and how many synthetic images it needs')
    .argument('<project>', 'project folder')
    .option('--target <target>', 'max (match the largest class), median, or a number', parseTarget)
    .option('--json', 'print the result as JSON')
    .action((path: string, o: { target?: BalanceTarget; json?: boolean }) => {
      try {
        const project = Project.openReadOnly(path);
        const b = getBalance(project, o.target ?? balanceTarget(project));
        project.close();
        if (o.json) {
          process.stdout.write(JSON.stringify(b) + '\n');
          return;
        }
        if (b.classes.length === 0) {
          process.stdout.write('No images yet. Import some first: gan-augment import <project> <folder>\n');
          return;
        }
        const width = Math.max(...b.classes.map((c) => c.name.length), 5);
        const lines = [`${'class'.padEnd(width)}  images  share  target  needed`];
        for (const c of b.classes) {
          lines.push(
            `${c.name.padEnd(width)}  ${String(c.count).padStart(6)}  ${(c.share * 100).toFixed(1).padStart(4)}%  ${String(c.target).padStart(6)}  ${String(c.needed).padStart(6)}${c.tooSmall ? '  (too few for reliable GAN training)' : ''}`,
          );
        }
        lines.push(`Imbalance (largest / smallest): ${b.imbalanceRatio === null ? 'n/a' : b.imbalanceRatio.toFixed(1)}`);
        if (b.conflicts) lines.push(`${b.conflicts} images are held back because they appear under more than one label. Decide them with: gan-augment conflicts ${JSON.stringify(project.dir)}`);
        process.stdout.write(lines.join('\n') + '\n');
      } catch (err) {
        fail(err, !!o.json);
      }
    });

  /** What each of train's settings takes, in the words its --help and its errors use. */
  const trainAllows: Record<string, string> = {
    model: 'dcgan or cwgan-gp',
    resolution: '32, 64 or 128',
    preset: 'default, or tiny (small widths, for smoke tests)',
    steps: 'a whole number of at least 1',
    batch: 'a whole number from 1 to 1024',
    backend: 'auto, webgpu, tensorflow, wasm or cpu',
    seed: `a whole number from 0 to ${2 ** 31 - 1}`,
  };
  program
    .command('train')
    .description('train a GAN on the project\'s images (DCGAN: one model per class; cwgan-gp: one model for all chosen classes)')
    .argument('<project>', 'project folder')
    .option('--model <model>', trainAllows.model, 'cwgan-gp')
    .option('--resolution <px>', trainAllows.resolution, '64')
    .option('--preset <preset>', trainAllows.preset, 'default')
    .option('--classes <names>', 'comma-separated classes (default: every class that needs images)')
    .option('--steps <n>', `the run's total number of steps (a new run: ${DEFAULT_TRAINING_STEPS}; --resume: the run's own total)`)
    .option('--batch <n>', 'images per step (default: the preset\'s)')
    .option('--backend <backend>', trainAllows.backend, 'auto')
    .option('--diff-augment', `differentiable augmentation (default: on where a chosen class has ${DIFFAUGMENT_SUGGESTED_MAX} images or fewer, as in the app)`)
    .option('--no-diff-augment', 'no differentiable augmentation')
    .option('--seed <n>', 'random seed of the run')
    .option('--resume <run>', 'continue this run from its last checkpoint up to --steps')
    .option('--estimate', 'time a few steps on the images and say how long the training would take and the disk it needs; trains nothing')
    .option('--json', 'end with one JSON object: run, step, backend, checkpoint, metrics (with --estimate: the estimate)')
    .action(
      (
        path: string,
        o: {
          model: string;
          resolution: string;
          preset: string;
          classes?: string;
          steps?: string;
          batch?: string;
          backend: string;
          diffAugment?: boolean;
          seed?: string;
          resume?: string;
          estimate?: boolean;
          json?: boolean;
        },
      ) =>
        withProject(path, 'gan-augment train', !!o.json, async (project) => {
          const emit = (e: RunEvent) => {
            const m = e.metrics.at(-1);
            if (m && !o.json) process.stderr.write(`step ${m.step}: D ${m.dLoss?.toFixed(4) ?? '-'}  G ${m.gLoss?.toFixed(4) ?? '-'}  ${m.imagesPerSec.toFixed(1)} img/s\n`);
          };
          const newRunSettings = () => {
            const balance = getBalance(project).classes;
            const classes = o.classes
              ? o.classes.split(',').map((c) => c.trim()).filter(Boolean)
              : balance.filter((c) => c.needed > 0).map((c) => c.name);
            if (!o.classes && classes.length === 0) {
              throw new AppError('validation', 'No class needs more images, so there is no class to train by default. Name the classes with --classes.', { field: 'classes' });
            }
            const given = {
              model: o.model,
              classes,
              resolution: Number(o.resolution),
              preset: o.preset,
              steps: o.steps === undefined ? DEFAULT_TRAINING_STEPS : Number(o.steps),
              ...(o.batch ? { batch: Number(o.batch) } : {}),
              backend: o.backend,
              diffAugment: o.diffAugment ?? suggestDiffAugment(balance.filter((c) => classes.includes(c.name)).map((c) => c.count)),
              ...(o.seed ? { seed: Number(o.seed) } : {}),
            };
            try {
              return parseOrThrow(TrainSettingsSchema, given, 'option');
            } catch (err) {
              // The flag as typed and what it takes, rather than the schema's words ("Invalid input").
              const field = err instanceof AppError ? err.field : undefined;
              const allows = field === undefined ? undefined : trainAllows[field];
              if (!field || !allows) throw err;
              const typed = (o as Record<string, unknown>)[field];
              throw new AppError('validation', `--${field} ${JSON.stringify(String(typed))} is not a setting it takes: give ${allows}.`, { field });
            }
          };
          if (o.estimate) {
            if (o.resume) throw new AppError('validation', '--estimate is for a new run; leave out --resume.', { field: 'estimate' });
            const settings = newRunSettings();
            const worker = new WorkerClient(nodeWorkerLauncher);
            let e: Awaited<ReturnType<typeof estimate>>;
            try {
              e = await estimate(project, worker, settings);
            } finally {
              worker.dispose();
            }
            if (o.json) process.stdout.write(JSON.stringify(e) + '\n');
            else {
              const perStep = e.msPerStep < 1000 ? `${Math.max(1, Math.round(e.msPerStep))} ms` : `${(e.msPerStep / 1000).toFixed(1)} s`;
              const runs = settings.model === 'dcgan' && settings.classes.length > 1 ? ` (${settings.classes.length} runs, one per class, one after another)` : '';
              process.stdout.write(
                [
                  `Computing on: ${e.device}`,
                  ...(e.warning ? [`Note: ${e.warning}`] : []),
                  `About ${perStep} per step: ${formatDuration(e.etaSeconds)} in total for ${settings.steps.toLocaleString('en')} steps${runs}.`,
                  diskSentence(e),
                ].join('\n') + '\n',
              );
            }
            return;
          }
          let runIds: string[];
          let totalSteps: number | undefined;
          if (o.resume) {
            const run = getRun(project, o.resume); // not found -> a clear error
            runIds = [o.resume];
            // Without --steps the run keeps the total it was given (in the app, or by the first train command).
            totalSteps = o.steps === undefined ? undefined : Number(o.steps);
            if (totalSteps !== undefined && !(Number.isInteger(totalSteps) && totalSteps >= 1)) {
              throw new AppError('validation', `--steps must be a whole number of at least 1, not "${o.steps}".`, { field: 'steps' });
            }
            // refused here, as the app's Resume does, rather than by the job (which would end the run failed)
            if (totalSteps !== undefined && totalSteps < run.step) throw tooFewSteps(run.step);
            if (run.status === 'completed' && (totalSteps ?? run.totalSteps) <= run.step) {
              throw new AppError('validation', `Run ${run.id} finished at step ${run.step}. Give a larger --steps to train it further.`, { field: 'steps' });
            }
          } else runIds = createRuns(project, newRunSettings());
          const outcomes: unknown[] = [];
          for (const id of runIds) {
            process.stderr.write(`Training ${id}…\n`);
            try {
              outcomes.push(await runJobHere(project, trainSpec(id, emit, totalSteps === undefined ? {} : { totalSteps }), !!o.json));
            } catch (err) {
              const run = getRun(project, id);
              const cancelled = err instanceof AppError && err.kind === 'cancelled';
              if (!(err instanceof AppError) || (!cancelled && run.status !== 'failed')) throw err;
              // Ctrl+C (the run saved a checkpoint of every step done), or a failure (the disk, the
              // GPU): where the run can carry on from, and how
              const at = run.checkpointStep ?? 0;
              const rest = runIds.slice(runIds.indexOf(id) + 1);
              const notStarted = rest.length > 0 ? ` Not started: ${rest.join(', ')}.` : '';
              const command = `gan-augment train ${JSON.stringify(project.dir)} --resume ${id} --steps ${run.totalSteps}`;
              const carryOn = rest.length > 0 ? ` To carry on, run this, and the same for each run not started: ${command}` : ` To carry on: ${command}`;
              if (cancelled) {
                const stopped = at > 0 ? `Stopped ${id} at step ${at}, with a checkpoint there.` : `Stopped ${id} before its first checkpoint.`;
                throw new AppError('cancelled', stopped + notStarted + carryOn);
              }
              const from = at > 0 ? ` It carries on from its last checkpoint, step ${at}.` : ' It starts again from the beginning.';
              const room = err.kind === 'disk-full' ? ' To free space: "gan-augment runs" lists the disk each run takes, and "gan-augment delete-run" deletes one.' : '';
              throw new AppError(err.kind, err.message + from + room + notStarted + carryOn);
            }
            const run = getRun(project, id);
            if (run.backendWarning) process.stderr.write(`Note: ${run.backendWarning}\n`);
            if (!o.json) process.stdout.write(`${id}: step ${run.step} of ${run.totalSteps} on ${run.device ?? run.backend}; checkpoint at step ${run.checkpointStep}.\n`);
          }
          if (o.json) {
            const last = outcomes[outcomes.length - 1] as Record<string, unknown>;
            process.stdout.write(JSON.stringify(outcomes.length > 1 ? { ...last, runs: outcomes } : last) + '\n');
          }
        }),
    );

  program
    .command('conflicts')
    .description('pictures imported under two or more labels (kept out of training until decided); decide one with --decide')
    .argument('<project>', 'project folder')
    .option('--decide <id>', 'the conflict to decide (its id, or the start of it)')
    .option('--label <name>', 'with --decide: the right label; that copy joins training and the counts')
    .option('--keep-out', 'with --decide: keep the picture out under every label')
    .option('--undo <id>', 'take a decision back: the picture is a conflict again')
    .option('--json', 'print the conflicts, or { decided, label, remaining }, or { sha256, remaining }')
    .action((path: string, o: { decide?: string; label?: string; keepOut?: boolean; undo?: string; json?: boolean }) => {
      const list = (conflicts: Conflict[]) => {
        if (o.json) process.stdout.write(JSON.stringify(conflicts) + '\n');
        else if (conflicts.length === 0) process.stdout.write('No label conflicts: no picture appears under two labels.\n');
        else {
          const lines = conflicts.map((c) => `${c.id}  ${c.copies.map((k) => `${k.label} (${k.relPath})`).join(', ')}`);
          process.stdout.write(
            `${lines.join('\n')}\nEach picture is kept out of training until you decide: gan-augment conflicts ${JSON.stringify(resolveProjectDir(path))} --decide ID --label NAME (or --keep-out)\n`,
          );
        }
      };
      const undo = o.undo;
      if (undo !== undefined) {
        if (o.decide) fail(new AppError('validation', 'Use --decide or --undo, not both.', { field: 'undo' }), !!o.json);
        return withProject(path, 'gan-augment conflicts', !!o.json, async (project) => {
          const r = undoConflictDecision(project, undo);
          process.stdout.write(o.json ? JSON.stringify(r) + '\n' : `Taken back: the picture is kept out of training again until you decide. ${r.remaining} left to decide.\n`);
        });
      }
      if (!o.decide) {
        if (o.label || o.keepOut) fail(new AppError('validation', 'Name the conflict to decide with --decide ID.', { field: 'decide' }), !!o.json);
        return withProjectReadOnly(path, !!o.json, (project) => list(listConflicts(project)));
      }
      const decide = o.decide;
      return withProject(path, 'gan-augment conflicts', !!o.json, async (project) => {
        if (!!o.label === !!o.keepOut) throw new AppError('validation', 'Say how to decide it: --label NAME (the right label) or --keep-out.', { field: 'label' });
        const r = decideConflict(project, decide, o.label ?? null);
        if (o.json) process.stdout.write(JSON.stringify(r) + '\n');
        else {
          const what = r.label === null ? 'kept out of training under every label' : `counted as "${r.label}" from now on`;
          process.stdout.write(`The picture in ${r.decided.copies.map((c) => c.relPath).join(' and ')} is ${what}. ${r.remaining === 0 ? 'No conflicts are left.' : `${r.remaining} left to decide.`}\n`);
        }
      });
    });

  program
    .command('runs')
    .description("list the project's training runs: status, step, the disk each takes, the images generated from it")
    .argument('<project>', 'project folder')
    .option('--json', 'print [{ id, model, classes, status, step, totalSteps, checkpointStep, diskBytes, generatedImages }]')
    .action((path: string, o: { json?: boolean }) =>
      withProjectReadOnly(path, !!o.json, async (p) => {
        const runs = await Promise.all(listRuns(p).map(async (r) => ({ run: r, footprint: await footprintOfListedRun(p, r.id) })));
        if (o.json) {
          const rows = runs.map(({ run: r, footprint: f }) => ({
            id: r.id,
            model: r.model,
            classes: r.classes,
            status: r.status,
            step: r.step,
            totalSteps: r.totalSteps,
            checkpointStep: r.checkpointStep,
            diskBytes: f.diskBytes,
            generatedImages: f.generatedImages,
          }));
          process.stdout.write(JSON.stringify(rows) + '\n');
        } else if (runs.length === 0) process.stdout.write('No training runs yet.\n');
        else {
          const lines = runs.map(({ run: r, footprint: f }) => {
            const images = f.generatedImages === 0 ? '' : `, ${f.generatedImages.toLocaleString('en')} generated images`;
            return `${r.id}  ${r.model} ${r.classes.join(', ')}: ${r.status}, step ${r.step.toLocaleString('en')} of ${r.totalSteps.toLocaleString('en')}, ${formatBytes(f.diskBytes)}${images}`;
          });
          const total = runs.reduce((sum, { footprint: f }) => sum + f.diskBytes, 0);
          process.stdout.write(`${lines.join('\n')}\nIn all ${formatBytes(total)}. Delete a run you no longer need with: gan-augment delete-run ${JSON.stringify(p.dir)} RUN\n`);
        }
      }),
    );

  program
    .command('delete-run')
    .description('delete a training run that is not training: its checkpoints, sample images, loss history and the images generated from it')
    .argument('<project>', 'project folder')
    .argument('<run>', 'the run (see "gan-augment runs")')
    .option('--yes', 'delete it; without this, say what would be deleted and delete nothing')
    .option('--json', 'print { runId, diskBytes, generatedImages } of what was deleted')
    .action((path: string, runId: string, o: { yes?: boolean; json?: boolean }) =>
      withProject(path, 'gan-augment delete-run', !!o.json, async (project) => {
        if (!o.yes) {
          process.stdout.write(`Run ${runId}: ${runDeletionSentence(await runFootprint(project, runId))}\n`);
          throw new AppError('validation', 'Nothing was deleted. To delete the run, add --yes.', { field: 'yes' });
        }
        const deleted = await deleteRun(project, runId);
        process.stdout.write(o.json ? JSON.stringify(deleted) + '\n' : runDeletedSentence(runId, deleted) + '\n');
      }, (err) =>
        // Opening writes (the lock, SQLite's files): on a disk full to the last byte, the way to free space cannot start.
        toErrorData(err).kind === 'disk-full'
          ? new AppError('disk-full', 'The disk holding the project is full to the last byte, so the project cannot be opened to delete the run. Free a few megabytes elsewhere, then delete it again.')
          : err,
      ),
    );

  program
    .command('generate')
    .description('generate labelled images of one class from a run\'s latest checkpoint')
    .argument('<project>', 'project folder')
    .requiredOption('--run <run>', 'the training run')
    .requiredOption('--class <name>', 'the class to generate')
    .requiredOption('--count <n>', 'how many images')
    .option('--seed <n>', 'random seed (the same seed gives the same images)')
    .option('--json', 'print { generated: [{ id, file, class, seed }] }')
    .action((path: string, o: { run: string; class: string; count: string; seed?: string; json?: boolean }) =>
      withProject(path, 'gan-augment generate', !!o.json, async (project) => {
        const count = Number(o.count);
        if (!Number.isInteger(count) || count < 1) throw new AppError('validation', 'Use a whole number of at least 1 for --count.', { field: 'count' });
        const seed = o.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(o.seed);
        const disk = generationDiskSentence(count, generationDisk(project, o.run));
        process.stderr.write(`${disk.enough ? '' : 'Warning: '}${disk.text}\n`);
        const result = (await runJobHere(project, generateSpec(o.run, o.class, count, seed), !!o.json)) as { generated: { id: number; file: string; class: string; seed: number }[] };
        if (o.json) process.stdout.write(JSON.stringify({ generated: result.generated.map(({ id, file, class: c, seed: s }) => ({ id, file, class: c, seed: s })) }) + '\n');
        else process.stdout.write(`Generated ${result.generated.length} images of "${o.class}" (seed ${seed}) in ${join(project.dir, 'generated', o.run)}\n`);
      }),
    );

  program
    .command('serve')
    .description('start the app in browser mode on this computer and print its address')
    .argument('[project]', 'a project to open right away')
    .option('--port <n>', 'port to listen on (default: any free port)', parsePort)
    .option('--host <host>', 'interface to listen on (default 127.0.0.1: this computer only)')
    .action(async (projectPath: string | undefined, o: { port?: number; host?: string }) => {
      const session = new AppSession({ mode: 'web', launchWorker: nodeWorkerLauncher, purpose: 'GAN Augment (browser mode)' });
      try {
        if (projectPath) session.openProject(projectPath);
        const staticDir = join(appRoot(), 'out', 'web');
        if (!existsSync(join(staticDir, 'index.html'))) {
          process.stderr.write('Warning: the browser app is not built (out/web is missing). Run "npm run build" first.\n');
        }
        const server = await startServer({ session, staticDir, port: o.port, host: o.host });
        if (o.host && !['127.0.0.1', 'localhost', '::1'].includes(o.host)) {
          process.stderr.write(`Warning: listening on ${o.host}, so other computers on the network can reach it. Share the link only with people you trust.\n`);
        }
        process.stdout.write(`GAN Augment is running in browser mode. Open this link:\n${server.url}\n`);
        let stopping = false;
        const stop = async () => {
          if (stopping) {
            // a second Ctrl+C: quit now (the worker is killed on exit; a training run resumes from its last checkpoint)
            process.stderr.write('Quitting at once.\n');
            process.exit(130);
          }
          stopping = true;
          process.stderr.write('Stopping GAN Augment… (press Ctrl+C again to quit at once)\n');
          await server.close();
          await session.dispose();
          process.exit(0);
        };
        process.on('SIGINT', () => void stop());
        process.on('SIGTERM', () => void stop());
      } catch (err) {
        await session.dispose();
        if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') fail(new AppError('conflict', `Port ${o.port} is already in use. Choose another with --port, or leave it out.`), false);
        fail(err, false);
      }
    });

  return program;
}

export async function main(argv = process.argv): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
    fail(err, false);
  }
}

if (require.main === module || process.env.GAN_AUGMENT_CLI_MAIN === '1') void main();

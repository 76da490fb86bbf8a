/**
 * The `gan-augment` command. Every command uses the same services as the app; progress goes to
 * stderr, results to stdout (`--json`: one JSON object). Exit codes: 0 done, 1 failed, 2 bad usage,
 * 130 interrupted.
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Job } from '../../shared/contract';
import { AppError, errorTitle, toErrorData } from '../../shared/errors';
import { appRoot } from '../paths';
import { startServer } from '../server/server';
import { JobRunner } from '../services/jobs';
import { AppSession } from '../services/session';
import { verifySpec } from '../services/verify';
import { WorkerClient } from '../services/worker-client';
import { appVersion, Project, PROJECT_EXT } from '../store/project';
import { nodeWorkerLauncher } from '../worker-host';
import { renderProgress } from './progress';

function fail(err: unknown, json: boolean): never {
  const e = toErrorData(err);
  if (json) process.stdout.write(JSON.stringify({ ok: false, error: e }) + '\n');
  process.stderr.write(`${errorTitle(e.kind)}: ${e.message}\n`);
  process.exit(e.kind === 'validation' ? 2 : e.kind === 'cancelled' ? 130 : 1);
}

function parsePort(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('Use a port number between 0 and 65535.');
  return n;
}

/** Runs one job against a project opened by this process, with a progress line on stderr and Ctrl+C to cancel. */
async function runJobHere(project: Project, spec: ReturnType<typeof verifySpec>, quiet: boolean): Promise<unknown> {
  const worker = new WorkerClient(nodeWorkerLauncher);
  let last: Job | undefined;
  const runner = new JobRunner(project, worker, (job) => {
    last = job;
    if (!quiet) renderProgress(job);
  });
  const job = runner.enqueue(spec);
  const onSigint = () => {
    process.stderr.write('\nCancelling…\n');
    runner.cancel(job.id);
  };
  process.once('SIGINT', onSigint);
  try {
    await runner.whenIdle();
  } finally {
    process.off('SIGINT', onSigint);
    worker.dispose();
  }
  const final = project.jobs.get(job.id) ?? last;
  if (!quiet) process.stderr.write('\n');
  if (final?.status === 'failed') throw new AppError(final.error?.kind ?? 'internal', final.error?.message ?? 'The task failed.');
  if (final?.status === 'stopped') throw new AppError('cancelled', 'Cancelled. The project is unchanged and consistent.');
  return final?.result;
}

export function buildProgram(): Command {
  const program = new Command();
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
    .option('--json', 'print the result as JSON')
    .action((dir: string, o: { json?: boolean }) => {
      try {
        const abs = resolve(dir);
        const project = Project.create(dirname(abs), basename(abs), { purpose: 'gan-augment init' });
        const status = project.status();
        project.close();
        if (o.json) process.stdout.write(JSON.stringify(status) + '\n');
        else process.stdout.write(`Created project "${status.name}" at ${status.path}\n`);
      } catch (err) {
        fail(err, !!o.json);
      }
    });

  program
    .command('status')
    .description('show a project: classes, images, recent jobs')
    .argument('<project>', `project folder (ending in ${PROJECT_EXT})`)
    .option('--json', 'print the result as JSON')
    .action((path: string, o: { json?: boolean }) => {
      try {
        const project = Project.openReadOnly(path);
        const status = project.status();
        project.close();
        if (o.json) {
          process.stdout.write(JSON.stringify(status) + '\n');
          return;
        }
        const lines = [
          `Project:  ${status.name}`,
          `Folder:   ${status.path}`,
          `Format:   ${status.schemaVersion}`,
          `Images:   ${status.imageCount}`,
          `Classes:  ${status.classes.length === 0 ? 'none yet (import images first)' : status.classes.map((c) => `${c.name} (${c.imageCount})`).join(', ')}`,
          `Jobs:     ${status.jobs.length === 0 ? 'none' : status.jobs.slice(0, 5).map((j) => `${j.title}: ${j.status}`).join('; ')}`,
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
    .action(async (path: string, o: { json?: boolean }) => {
      let project: Project | undefined;
      try {
        project = Project.open(path, { purpose: 'gan-augment verify' });
        const result = await runJobHere(project, verifySpec(), false);
        if (o.json) process.stdout.write(JSON.stringify(result) + '\n');
        else process.stdout.write(`${project.jobs.list(1)[0]?.message ?? 'Done.'}\n`);
      } catch (err) {
        project?.close();
        project = undefined;
        fail(err, !!o.json);
      } finally {
        project?.close();
      }
    });

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
        const stop = async () => {
          process.stderr.write('Stopping GAN Augment…\n');
          await server.close();
          await session.dispose();
          process.exit(0);
        };
        process.once('SIGINT', () => void stop());
        process.once('SIGTERM', () => void stop());
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
  program.exitOverride();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
    fail(err, false);
  }
}

if (require.main === module || process.env.GAN_AUGMENT_CLI_MAIN === '1') void main();

// What every non-interactive command gets: a store, the runner, a transcript, a reporter, and
// the global flags. `runCommand` turns the outcome into the exit code and prints the transcript path.
import {cleanupOnExit} from './exit.js';
import {Cancelled, exitCodeOf, InUseError, StepError, UsageError} from '../errors.js';
import {Runner} from '../runner/runner.js';
import {Transcript, toShellScript} from '../runner/transcript.js';
import {createAppStore, type AppStore} from '../store.js';
import {createReporter, followRunner, hang, type Reporter} from './reporter.js';

export interface GlobalOptions {
  json?: boolean;
  dryRun?: boolean;
  verbose?: boolean;
  transcriptFormat?: string;
}

export interface CliContext {
  store: AppStore;
  runner: Runner;
  reporter: Reporter;
  transcript?: Transcript;
  options: GlobalOptions;
}

export type CommandBody = (ctx: CliContext) => Promise<number | void>;

/** Runs one subcommand body with everything set up and torn down around it; resolves to the exit code. */
export async function runCommand(name: string, options: GlobalOptions, body: CommandBody): Promise<number> {
  const reporter = createReporter(Boolean(options.json));
  if (options.transcriptFormat && !['log', 'sh'].includes(options.transcriptFormat)) {
    return report(reporter, new UsageError(`--transcript-format must be log or sh, not "${options.transcriptFormat}"`, 'pass --transcript-format sh'));
  }
  const store = createAppStore();
  const runner = new Runner({store, dryRun: Boolean(options.dryRun)});
  let transcript: Transcript | undefined;
  try {
    transcript = options.dryRun ? undefined : Transcript.open(name);
  } catch (error) {
    reporter.warn(`no transcript: ${(error as Error).message}`);
  }
  transcript?.attach(runner);
  const records: import('../store.js').RunRecord[] = [];
  runner.subscribe((e) => {
    if (e.type === 'end') records.push(e.run);
  });
  const stopFollowing = followRunner(runner, reporter, {verbose: Boolean(options.verbose)});
  const ctx: CliContext = {store, runner, reporter, transcript, options};
  let code = 0;
  let failure: {error: unknown} | undefined;
  try {
    code = (await body(ctx)) ?? 0;
  } catch (error) {
    // --json: the error is the last line, after the transcript event, as a result would be.
    if (reporter.json) failure = {error};
    else code = report(reporter, error);
  } finally {
    await cleanupOnExit();
    stopFollowing();
    transcript?.close();
  }
  if (options.transcriptFormat === 'sh' && !options.dryRun) reporter.print(toShellScript(records, `what tdx-wizard ${name} did`));
  if (transcript?.written) {
    if (reporter.json) reporter.event('transcript', {path: transcript.path});
    else process.stderr.write(`transcript: ${transcript.path}\n`);
  }
  if (failure) code = report(reporter, failure.error);
  reporter.flush(); // --json: the result is the last line, as automation reads it
  return code;
}

/** Prints an error the way the operator needs it: what went wrong, and how to fix it. */
export function report(reporter: Reporter, error: unknown): number {
  const code = exitCodeOf(error);
  const message = error instanceof Error ? error.message : String(error);
  const fix = error instanceof UsageError || error instanceof StepError ? error.fix : undefined;
  if (reporter.json) {
    reporter.event('error', {
      kind: error instanceof InUseError ? 'in-use' : error instanceof UsageError ? 'bad-input' : error instanceof Cancelled ? 'cancelled' : 'failed',
      message,
      ...(fix ? {fix} : {}),
      ...(error instanceof StepError && error.step ? {step: error.step, output: error.output.slice(-15)} : {}),
      exitCode: code,
    });
  } else {
    process.stderr.write(`${error instanceof UsageError ? 'error' : error instanceof Cancelled ? 'cancelled' : 'failed'}: ${message}\n`);
    if (error instanceof StepError && error.output.length) process.stderr.write(error.output.slice(-15).map((l) => `  | ${l}\n`).join(''));
    if (fix) process.stderr.write(`  fix: ${hang(fix)}\n`);
    if (!(error instanceof UsageError || error instanceof StepError || error instanceof Cancelled) && error instanceof Error && process.env.TDX_WIZARD_DEBUG) {
      process.stderr.write(`${error.stack}\n`);
    }
  }
  return code;
}

import type {StepEnv} from '../flow-runner.js';
import {addMessage} from '../store.js';
import type {CliContext} from './context.js';

/** The environment flow steps get when run from the CLI: warnings go to the reporter and the store. */
export function stepEnv(ctx: CliContext, signal?: AbortSignal): StepEnv {
  return {
    runner: ctx.runner,
    store: ctx.store,
    signal,
    warn: (text, fix) => {
      addMessage(ctx.store, {level: 'warn', text});
      ctx.reporter.warn(text, fix);
    },
    info: (text) => {
      addMessage(ctx.store, {level: 'info', text});
      ctx.reporter.info(text);
    },
  };
}

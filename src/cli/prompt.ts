// Questions asked on a terminal only. Without one, the command never waits: it stops with exit 2
// and names the flag that gives the answer.
import {Cancelled, UsageError} from '../errors.js';

export function isInteractive(): boolean {
  return Boolean(process.stdin.isTTY && process.stdout.isTTY);
}

/** readline is loaded only when a question is asked: most commands never ask, and start sooner without it. */
async function terminalQuestions() {
  const {createInterface} = await import('node:readline/promises');
  return createInterface({input: process.stdin, output: process.stderr});
}

export async function askYesNo(question: string, flag: string): Promise<boolean> {
  if (!isInteractive()) throw new UsageError(`${question} No terminal to ask on.`, `pass ${flag}`);
  const rl = await terminalQuestions();
  try {
    const answer = await rl.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

/**
 * Typed confirmation for a destructive step: the operator types `expected` (the volume's file
 * name or the device). `given` is the value of `--confirm`, which scripts use instead.
 */
export async function confirmTyped(expected: string, loss: string, given: string | undefined): Promise<void> {
  if (given !== undefined) {
    if (given === expected) return;
    throw new UsageError(`--confirm "${given}" does not match "${expected}". ${loss}`, `pass --confirm ${JSON.stringify(expected)} to go ahead`);
  }
  if (!isInteractive()) throw new UsageError(`${loss} This needs a typed confirmation and there is no terminal.`, `pass --confirm ${JSON.stringify(expected)}`);
  const rl = await terminalQuestions();
  try {
    process.stderr.write(`${loss}\n`);
    const answer = await rl.question(`Type ${expected} to go ahead, anything else cancels: `);
    if (answer.trim() !== expected) throw new Cancelled('Not confirmed: nothing was changed.');
  } finally {
    rl.close();
  }
}

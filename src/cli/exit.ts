import {runCleanups} from '../cleanup.js';

/** Runs the cleanup registry at the end of a command (what a step registered and did not release). */
export async function cleanupOnExit(): Promise<void> {
  await runCleanups();
}

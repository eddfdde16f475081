// TDX_MINER_SEED is taken out of the environment as the command line starts (runProgram in
// src/program.ts, before anything can run a program), whatever the command: every program the
// wizard runs (qemu-img, mkfs, the launcher) would otherwise inherit it, and /proc/PID/environ of
// each shows it to root and keeps it for as long as that program runs.
// The one reader is launch, which asks for it here.

let taken: string | undefined;
let took = false;

/** Moves TDX_MINER_SEED from the environment into this module. Call once, before anything runs a program. */
export function takeSeedFromEnv(env: NodeJS.ProcessEnv = process.env): void {
  took = true;
  if (!('TDX_MINER_SEED' in env)) return;
  taken = env.TDX_MINER_SEED;
  delete env.TDX_MINER_SEED;
}

/** The TDX_MINER_SEED the wizard was started with ('' or undefined when none). */
export function seedFromEnv(): string | undefined {
  if (!took) takeSeedFromEnv(); // an entry other than src/cli.ts (a test's own bundle)
  return taken;
}

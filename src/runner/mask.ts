// Secrets never leave the process in clear: argv, output lines and transcripts go through here.

export const MASK = '********';

export function maskText(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length < 4) continue; // too short to mask without destroying ordinary text
    out = out.split(secret).join(MASK);
  }
  return out;
}

export function maskArgv(argv: readonly string[], secrets: readonly string[]): string[] {
  return argv.map((arg) => maskText(arg, secrets));
}

/** Quote one argument for a POSIX shell, only when it needs it. */
export function shellQuote(arg: string): string {
  if (arg !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function shellLine(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}

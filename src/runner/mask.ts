// Secrets never leave the process in clear: argv, output lines and transcripts go through here.

export const MASK = '********';

/**
 * A hex secret (the miner seed) is masked in every spelling it can take: any mix of case, with or
 * without 0x. A launcher that prints the seed in lower case must not show what was given in upper
 * case. Other secrets are masked as given.
 */
const HEX = /^(?:0[xX])?([0-9a-fA-F]{16,})$/;
const patterns = new Map<string, RegExp>();

function hexPattern(secret: string): RegExp | undefined {
  const core = HEX.exec(secret)?.[1];
  if (!core) return undefined;
  let re = patterns.get(core.toLowerCase());
  if (!re) patterns.set(core.toLowerCase(), (re = new RegExp(`(?:0[xX])?${core}`, 'gi')));
  return re;
}

export function maskText(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length < 4) continue; // too short to mask without destroying ordinary text
    const hex = hexPattern(secret);
    out = hex ? out.replace(hex, MASK) : out.split(secret).join(MASK);
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

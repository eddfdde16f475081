// Commands that need root say so before touching anything: what needs it and why, and the command
// to run instead. Without this the operator sees a tool's "Operation not permitted" halfway through.
import {UsageError} from '../errors.js';

export function requireRoot(what: string, why: string, fix: string, euid = process.geteuid?.() ?? 0): void {
  if (euid === 0) return;
  throw new UsageError(`${what} needs root: ${why} (running as uid ${euid})`, fix);
}

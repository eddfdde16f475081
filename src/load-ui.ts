// Loads the interactive UI: Ink, React and the components, for the wizard and the log pane.
//
// Ink's layout engine (yoga) is WebAssembly shipped as a base64 data: URL. Its loader fetches that
// URL with the global fetch when there is one, and on Node the first call to fetch loads undici:
// 40-50 ms of the first frame on the 2-core machines here, and about 9 MB of the process, to
// decode a string that is already in memory. With fetch hidden while Ink loads, the loader
// decodes it itself, as it does wherever fetch is missing. fetch is put back as it was before
// anything else runs.
//
// Two V8 settings for the UI's memory, set here at run time: as flags on the #! line they would
// cost every command 8-13 ms (scripts/build.mjs says why). Both measured with `node bench/log-ab.mjs`
// (peak RSS of the log pane under 50,000 lines/s, CPU unchanged within the noise):
//  - the young generation stops growing where it is (2 x 2 MiB after loading) instead of doubling
//    up to 2 x 16 MiB under a flood of lines or output: 87 -> 79 MB;
//  - yoga's WebAssembly keeps its baseline (Liftoff) code instead of being recompiled by TurboFan
//    in the background a moment after the first frame, a passing 7-8 MB: start-up peak 75 -> 68 MB.
import {setFlagsFromString} from 'node:v8';

export const UI_V8_FLAGS = ['--semi-space-growth-factor=1', '--liftoff-only'];

export function loadUi(): Promise<typeof import('../components/run.js')> {
  return loadAsTheUi(() => import('../components/run.js'));
}

/** Runs `load` (an import of anything that imports Ink) as the UI loads: its V8 settings set, the global fetch hidden. */
export function loadAsTheUi<T>(load: () => Promise<T>): Promise<T> {
  for (const flag of UI_V8_FLAGS) setFlagsFromString(flag);
  return withoutFetch(load);
}

async function withoutFetch<T>(load: () => Promise<T>): Promise<T> {
  const fetch = Object.getOwnPropertyDescriptor(globalThis, 'fetch');
  if (fetch?.configurable) delete (globalThis as {fetch?: unknown}).fetch;
  try {
    return await load();
  } finally {
    if (fetch?.configurable) Object.defineProperty(globalThis, 'fetch', fetch);
  }
}

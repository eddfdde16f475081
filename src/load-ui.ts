// Loads the interactive UI: Ink, React and the components, for the wizard and the log pane.
//
// Ink's layout engine (yoga) is WebAssembly shipped as a base64 data: URL. Its loader fetches that
// URL with the global fetch when there is one, and on Node the first call to fetch loads undici:
// 40-50 ms of the first frame on the 2-core machines here, and about 9 MB of the process, to
// decode a string that is already in memory. With fetch hidden while Ink loads, the loader
// decodes it itself, as it does wherever fetch is missing. fetch is put back as it was before
// anything else runs.
export function loadUi(): Promise<typeof import('../components/run.js')> {
  return withoutFetch(() => import('../components/run.js'));
}

/** Runs `load` (an import of anything that imports Ink) with the global fetch hidden. */
export async function withoutFetch<T>(load: () => Promise<T>): Promise<T> {
  const fetch = Object.getOwnPropertyDescriptor(globalThis, 'fetch');
  if (fetch?.configurable) delete (globalThis as {fetch?: unknown}).fetch;
  try {
    return await load();
  } finally {
    if (fetch?.configurable) Object.defineProperty(globalThis, 'fetch', fetch);
  }
}

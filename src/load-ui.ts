// Loads the interactive UI: Ink, React and the components, for the wizard and the log pane.
//
// Ink's layout engine (yoga) is WebAssembly shipped as a base64 data: URL. Its loader fetches that
// URL with the global fetch when there is one, and on Node the first call to fetch loads undici:
// 40-50 ms of the first frame on the 2-core machines here, to decode a string that is already in
// memory. With fetch hidden while Ink loads, the loader decodes it itself, as it does wherever
// fetch is missing. fetch is put back as it was before anything else runs.
export async function loadUi(): Promise<typeof import('../components/run.js')> {
  const fetch = Object.getOwnPropertyDescriptor(globalThis, 'fetch');
  if (fetch?.configurable) delete (globalThis as {fetch?: unknown}).fetch;
  try {
    return await import('../components/run.js');
  } finally {
    if (fetch?.configurable) Object.defineProperty(globalThis, 'fetch', fetch);
  }
}

// The floor for benchmark 3b: the least an Ink program can do, load Ink and React and draw one
// line ("First-time setup", like the wizard's first frame), then wait for a key like the wizard.
process.env.NODE_ENV ??= 'production'; // as src/cli.ts does for the wizard
const {createElement} = await import('react');
const {render, Text} = await import('ink');
const app = render(createElement(Text, null, 'First-time setup'), {exitOnCtrlC: true, patchConsole: false, maxFps: 30});
process.stdin.once('data', () => app.unmount());
await app.waitUntilExit();

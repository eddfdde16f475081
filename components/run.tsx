import {render, Text} from 'ink';

export async function runWizard(): Promise<number> {
  const app = render(<Text>tdx-wizard</Text>, {exitOnCtrlC: false, patchConsole: false});
  app.unmount();
  await app.waitUntilExit();
  return 0;
}

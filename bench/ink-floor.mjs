// The memory floor of an Ink program, for benchmark 10's RSS row: Ink and React bundled as dist/ is
// (scripts/bundle-options.mjs), drawing one line and waiting, as the log pane waits for lines.
import React from 'react';
import {render, Text} from 'ink';

render(React.createElement(Text, null, 'tdx-wizard · serial log'), {exitOnCtrlC: true, patchConsole: false, maxFps: 30});
setInterval(() => undefined, 1000); // stays, as a viewer does

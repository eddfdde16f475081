// Redraw budget for panes fed by a flood (a command printing a million lines, a guest writing
// 50,000 serial lines a second). A full-screen frame costs Ink 10-20 ms and about 10 MB of
// garbage (every cell is tokenized, measured, clipped and diffed). V8 promotes the frames that a
// young-generation collection catches half-built, and that is what grows the process: a flooded
// log pane peaked at 165-191 MB RSS at 10 frames/s, 148-161 MB at 5 (before the bundle's own
// screen buffer, components/fastOutput.ts: 85-90 MB at 15 frames/s). So redraws come from a token
// bucket: `burst` redraws are drawn at once (a line after a quiet spell shows immediately, and so
// do lines arriving at a reading pace), then at most `perSecond` while the flood lasts. Keys are
// not throttled: they redraw directly.
export interface FrameBudget {
  /** Something changed: draw soon, within the budget. */
  request(): void;
  cancel(): void;
}

export function frameBudget(draw: () => void, perSecond: number, burst = 10): FrameBudget {
  let tokens = burst;
  let at = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const refill = () => {
    const now = Date.now();
    tokens = Math.min(burst, tokens + ((now - at) * perSecond) / 1000);
    at = now;
  };
  return {
    request() {
      if (timer) return;
      refill();
      timer = setTimeout(() => {
        timer = undefined;
        refill();
        tokens = Math.max(0, tokens - 1);
        draw();
      }, tokens >= 1 ? 0 : ((1 - tokens) * 1000) / perSecond);
    },
    cancel() {
      clearTimeout(timer);
      timer = undefined;
    },
  };
}

// Keys and frames for component tests (ink-testing-library).
import stripAnsi from 'strip-ansi';

// A macrotask after each key, then a few check-phase turns: Ink flushes a lone Esc and React's
// scheduler renders on setImmediate, which a stalled event loop would otherwise run after our timer.
export async function tick() {
  await new Promise((resolve) => setTimeout(resolve, 20));
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
}

export async function press(stdin: {write(data: string): void}, ...keys: string[]) {
  for (const key of keys) {
    stdin.write(key);
    await tick();
  }
}

export const frameOf = (r: {lastFrame(): string | undefined}) => stripAnsi(r.lastFrame() ?? '');

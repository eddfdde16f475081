// V8 flags the CLI runs with, from the #! line scripts/build.mjs writes. --max-semi-space-size=4:
// V8 lets the young generation grow to 2 x 16 MB while the log pane follows a flooding guest, and
// keeps it; 4 MB semi-spaces cost no measurable CPU and keep the peak about 15 MB lower
// (BENCHMARKS.md, benchmark 4). bench/output.mjs runs its program with them too.
export const NODE_FLAGS = '--max-semi-space-size=4';

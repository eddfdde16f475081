// The one store the UI renders. The runner and the flow runner write to it; components only read
// it and dispatch actions. Output lines live in per-run ring buffers (not in React state), and a
// throttled `outputTick` tells subscribers that some output changed, so a command printing a
// million lines costs a few dozen renders, not a million.
import {createStore} from 'zustand/vanilla';
import {Ring} from './ring.js';

export type RunStatus = 'planned' | 'running' | 'ok' | 'failed' | 'cancelled';

export interface OutputLine {
  stream: 'out' | 'err';
  text: string;
}

export interface RunRecord {
  id: number;
  /** What the command is for, in words ("Format ext4"). */
  title: string;
  /** The argv as run, secrets masked. */
  argv: string[];
  /** `command` ran a program; `action` is a file operation done in-process (recorded as its shell equivalent). */
  kind: 'command' | 'action';
  status: RunStatus;
  startedAt: number;
  endedAt?: number;
  exitCode?: number;
  /** The last output lines (sanitised), and how many there were in all. */
  lines: Ring<OutputLine>;
  /** The line being written in place (progress counters), if any. */
  partial: string;
  progress?: number;
}

export type StepStatus = 'pending' | 'running' | 'done' | 'failed' | 'skipped';

export interface StepState {
  id: string;
  title: string;
  status: StepStatus;
  startedAt?: number;
  endedAt?: number;
  /** One line shown beside the step: what it found, or why it failed. */
  detail?: string;
  /** True once the step has changed something on disk: going back cannot undo it. */
  changedDisk?: boolean;
}

export interface Message {
  level: 'info' | 'warn' | 'error';
  text: string;
}

export interface AppState {
  runs: RunRecord[];
  outputTick: number;
  flowTitle?: string;
  steps: StepState[];
  messages: Message[];
}

export const RUN_LINES_KEPT = 2000;
const RUNS_KEPT = 200;

export function createAppStore() {
  return createStore<AppState>(() => ({runs: [], outputTick: 0, steps: [], messages: []}));
}

export type AppStore = ReturnType<typeof createAppStore>;

export function newRunRecord(id: number, title: string, argv: string[], kind: RunRecord['kind'], status: RunStatus): RunRecord {
  return {id, title, argv, kind, status, startedAt: Date.now(), lines: new Ring<OutputLine>(RUN_LINES_KEPT), partial: ''};
}

export function addRun(store: AppStore, run: RunRecord): void {
  store.setState((s) => ({runs: [...s.runs, run].slice(-RUNS_KEPT)}));
}

export function setSteps(store: AppStore, flowTitle: string, steps: StepState[]): void {
  store.setState({flowTitle, steps});
}

export function updateStep(store: AppStore, id: string, patch: Partial<StepState>): void {
  store.setState((s) => ({steps: s.steps.map((step) => (step.id === id ? {...step, ...patch} : step))}));
}

export function addMessage(store: AppStore, message: Message): void {
  store.setState((s) => ({messages: [...s.messages, message].slice(-50)}));
}

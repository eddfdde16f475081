// One serial log as the wizard watches it: the file read on demand (what the pane scrolls over), the
// feed of new lines (for the hints and the badge), the hints found so far and the status line. It
// outlives the screen that shows it: the help overlay (`?`) unmounts the screen, and coming back
// finds the hints, the counts and the pane as they were (the controller holds it, see hold()).
import {MarkerTracker} from './hints.js';
import type {LogEvent, LogFeed} from './log-feed.js';

import {FileSource} from './log-source.js';

/** What changed: new lines (a redraw within the frame budget) or the status line (at once). */
export type LogChange = 'lines' | 'status';

/** A Linux kernel's first line: a new boot, whose hints start afresh. */
const BOOT_BANNER = /\bLinux version \d/;

export class LogView {
  readonly source: FileSource;
  readonly tracker = new MarkerTracker();
  /** Lines read so far (the paused pane's badge) and restarts seen (the pane then follows the new log). */
  readonly counts = {lines: 0, generation: 0};
  status = 'waiting for the log to appear...';
  private watcher?: (change: LogChange) => void;

  /** Takes what the feed has read so far at once (the first frame shows it), then follows. */
  constructor(
    readonly path: string,
    private readonly feed: LogFeed,
  ) {
    this.source = new FileSource(path);
    feed.take((event) => {
      const status = this.apply(event);
      if (status !== undefined) this.status = status;
      this.watcher?.(status === undefined ? 'lines' : 'status');
    });
    void feed.start();
  }

  /** Calls `fn` on each change until the returned function is called. */
  watch(fn: (change: LogChange) => void): () => void {
    this.watcher = fn;
    return () => {
      if (this.watcher === fn) this.watcher = undefined;
    };
  }

  close(): void {
    this.watcher = undefined;
    void this.feed.stop();
    this.source.close();
  }

  /** A line or a restart counts and goes into the marker tracker; any other event gives the new status line. */
  private apply(event: LogEvent): string | undefined {
    switch (event.type) {
      case 'skipped':
        this.counts.lines += event.count;
        return undefined;
      case 'line':
        this.counts.lines++;
        if (BOOT_BANNER.test(event.line.text)) this.tracker.reset();
        this.tracker.push(event.line.raw);
        return undefined;
      case 'restarted':
        this.counts.generation++;
        this.tracker.reset();
        return `VM restarted (the log was ${event.reason}): following the new boot`;
      case 'waiting':
        return `waiting for ${this.path} to appear...`;
      case 'opened':
        return `following ${this.path}`;
      case 'unreadable':
        return `cannot read ${this.path}: ${event.why} (run as root?)`;
    }
  }
}

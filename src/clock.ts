import { readFileSync } from 'node:fs';

// Time comes from an injected clock so tests can move it (scheduled backups, token expiry).
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A clock that only moves when told to. */
export class ManualClock implements Clock {
  private current: number;
  constructor(start: Date = new Date()) {
    this.current = start.getTime();
  }
  now(): Date {
    return new Date(this.current);
  }
  advance(ms: number): void {
    this.current += ms;
  }
  set(date: Date): void {
    this.current = date.getTime();
  }
}

/**
 * Tests only (`ALLOTROPE_TEST_CLOCK_FILE`): the time is the epoch milliseconds written in a file, read at
 * every call, so a test can move the clock of a control plane running in another process.
 */
export class FileClock implements Clock {
  constructor(private readonly path: string) {
    this.now();
  }
  now(): Date {
    const text = readFileSync(this.path, 'utf8').trim();
    if (!/^\d+$/.test(text)) throw new Error(`test clock file ${this.path} must hold epoch milliseconds, got '${text.slice(0, 40)}'`);
    return new Date(Number(text));
  }
}

// When scheduled backups fall due. Pure functions over an injected "now", so the scheduler loop can be
// tested with a manual clock. A backup that fell due while the server was down is still taken if it is
// less than a day late (at most once: only the newest missed one), and none is ever taken twice, because
// the caller records the due time it ran and asks again only for times after it.
import { Cron } from 'croner';

export type Frequency = 'daily' | 'weekly' | 'monthly';

export interface BackupSchedule {
  enabled: boolean;
  frequency: Frequency;
  /** "HH:MM", 24-hour, in `timezone`. */
  time: string;
  /** IANA zone name, e.g. "UTC" or "Europe/Paris". */
  timezone: string;
  /** How many scheduled backups to keep. */
  retention: number;
  /** 0 = Sunday … 6 = Saturday; weekly only. */
  dayOfWeek: number;
  /** 1…28 (so every month has it); monthly only. */
  dayOfMonth: number;
}

export const DEFAULT_SCHEDULE: BackupSchedule = {
  enabled: false,
  frequency: 'daily',
  time: '03:00',
  timezone: 'UTC',
  retention: 7,
  dayOfWeek: 0,
  dayOfMonth: 1,
};

/** How late a missed backup may be and still be taken after a restart. */
export const MAX_LATENESS_MS = 24 * 60 * 60 * 1000;

const TIME = /^([01]\d|2[0-3]):([0-5]\d)$/;

/** Returns the name of the first invalid field with a message, or null when the schedule is valid. */
export function validateSchedule(s: BackupSchedule): { field: string; message: string } | null {
  if (!TIME.test(s.time)) return { field: 'time', message: `time '${s.time}' is not HH:MM (00:00 to 23:59)` };
  if (!isValidTimezone(s.timezone)) return { field: 'timezone', message: `timezone '${s.timezone}' is not an IANA time zone name` };
  if (!Number.isInteger(s.retention) || s.retention < 1 || s.retention > 365)
    return { field: 'retention', message: 'retention must be an integer from 1 to 365' };
  if (!Number.isInteger(s.dayOfWeek) || s.dayOfWeek < 0 || s.dayOfWeek > 6)
    return { field: 'dayOfWeek', message: 'dayOfWeek must be an integer from 0 (Sunday) to 6 (Saturday)' };
  if (!Number.isInteger(s.dayOfMonth) || s.dayOfMonth < 1 || s.dayOfMonth > 28)
    return { field: 'dayOfMonth', message: 'dayOfMonth must be an integer from 1 to 28' };
  return null;
}

export function isValidTimezone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

function cronPattern(s: BackupSchedule): string {
  const [hh, mm] = s.time.split(':').map(Number);
  switch (s.frequency) {
    case 'daily':
      return `${mm} ${hh} * * *`;
    case 'weekly':
      return `${mm} ${hh} * * ${s.dayOfWeek}`;
    case 'monthly':
      return `${mm} ${hh} ${s.dayOfMonth} * *`;
  }
}

/** The first due time strictly after `after`. */
export function nextDue(s: BackupSchedule, after: Date): Date {
  const next = new Cron(cronPattern(s), { timezone: s.timezone, paused: true }).nextRun(after);
  if (!next) throw new Error('schedule has no next run');
  return next;
}

/**
 * The due time to run now, or null. `lastDue` is the due time of the last scheduled backup taken (or the
 * moment the schedule was enabled). Missed due times older than MAX_LATENESS_MS are skipped; of several
 * missed ones only the newest is returned.
 */
export function dueNow(s: BackupSchedule, lastDue: Date, now: Date): Date | null {
  if (!s.enabled) return null;
  let due = nextDue(s, lastDue);
  if (due > now) return null;
  // Walk forward to the newest due time that is not in the future.
  for (let next = nextDue(s, due); next <= now; next = nextDue(s, next)) due = next;
  return now.getTime() - due.getTime() <= MAX_LATENESS_MS ? due : null;
}

// The scheduled-backup setting of a database (`backups/schedule`): daily, weekly or monthly at a time
// in a time zone, with a retention count. Reading works on every plan (a disabled default); enabling
// needs a `standard` plan or above.
import type { Caller } from '../auth/caller.js';
import { DEFAULT_SCHEDULE, validateSchedule, type BackupSchedule, type Frequency } from './backup-schedule-rules.js';
import type { BackupSchedulesTable } from '../store/schema/backups.js';
import { CONFIGURE_SCOPE, findDatabase } from './databases.js';
import { invalid } from '../errors.js';
import { assertSnapshotsAllowed, type BackupsDomainDeps } from './snapshots.js';

/** The schedule as the API shows it: the same shape as the rule's BackupSchedule. */
export type ScheduleJson = BackupSchedule;

const FREQUENCIES: readonly Frequency[] = ['daily', 'weekly', 'monthly'];

export function scheduleOf(row: BackupSchedulesTable | undefined): BackupSchedule {
  if (!row) return { ...DEFAULT_SCHEDULE };
  return {
    enabled: row.enabled === 1,
    frequency: row.frequency as Frequency,
    time: row.time,
    timezone: row.timezone,
    retention: row.retention,
    dayOfWeek: row.day_of_week,
    dayOfMonth: row.day_of_month,
  };
}

function json(s: BackupSchedule): ScheduleJson {
  return { enabled: s.enabled, frequency: s.frequency, time: s.time, timezone: s.timezone, retention: s.retention, dayOfWeek: s.dayOfWeek, dayOfMonth: s.dayOfMonth };
}

export async function getBackupSchedule(deps: Pick<BackupsDomainDeps, 'db'>, caller: Caller, databaseId: string): Promise<ScheduleJson> {
  const { row } = await findDatabase(deps, caller, databaseId, 'read');
  const schedule = await deps.db.selectFrom('backup_schedules').selectAll().where('database_id', '=', row.id).executeTakeFirst();
  return json(scheduleOf(schedule));
}

export interface ScheduleInput {
  enabled?: boolean;
  frequency?: string;
  time?: string;
  timezone?: string;
  retention?: number;
  dayOfWeek?: number;
  dayOfMonth?: number;
}

/** Fields left out keep their current value. Changing the schedule restarts its count from now. */
export async function putBackupSchedule(deps: Pick<BackupsDomainDeps, 'db' | 'clock'>, caller: Caller, databaseId: string, input: ScheduleInput): Promise<ScheduleJson> {
  const { row } = await findDatabase(deps, caller, databaseId, CONFIGURE_SCOPE);
  const existing = await deps.db.selectFrom('backup_schedules').selectAll().where('database_id', '=', row.id).executeTakeFirst();
  const current = scheduleOf(existing);
  if (input.frequency !== undefined && !FREQUENCIES.includes(input.frequency as Frequency)) {
    throw invalid('frequency', `frequency '${input.frequency}' is not one of ${FREQUENCIES.join(', ')}`);
  }
  const next: BackupSchedule = {
    enabled: input.enabled ?? (existing ? current.enabled : true),
    frequency: (input.frequency as Frequency | undefined) ?? current.frequency,
    time: input.time ?? current.time,
    timezone: input.timezone ?? current.timezone,
    retention: input.retention ?? current.retention,
    dayOfWeek: input.dayOfWeek ?? current.dayOfWeek,
    dayOfMonth: input.dayOfMonth ?? current.dayOfMonth,
  };
  const problem = validateSchedule(next);
  if (problem) throw invalid(problem.field, problem.message);
  if (next.enabled) assertSnapshotsAllowed(row, 'scheduled backups');
  const now = deps.clock.now().toISOString();
  const values: BackupSchedulesTable = {
    database_id: row.id,
    organization_id: row.organization_id,
    enabled: next.enabled ? 1 : 0,
    frequency: next.frequency,
    time: next.time,
    timezone: next.timezone,
    retention: next.retention,
    day_of_week: next.dayOfWeek,
    day_of_month: next.dayOfMonth,
    // Counting from now: a changed schedule never fires for a time that passed before the change.
    last_due_at: now,
    updated_at: now,
  };
  const { database_id: _id, ...updates } = values;
  await deps.db
    .insertInto('backup_schedules')
    .values(values)
    .onConflict((oc) => oc.column('database_id').doUpdateSet(updates))
    .execute();
  return json(next);
}

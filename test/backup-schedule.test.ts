import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_SCHEDULE, dueNow, nextDue, validateSchedule, type BackupSchedule } from '../src/domain/backup-schedule-rules.js';

const daily: BackupSchedule = { ...DEFAULT_SCHEDULE, enabled: true, time: '03:00', timezone: 'UTC' };
const at = (iso: string) => new Date(iso);

test('a daily schedule falls due at its time in its time zone', () => {
  assert.deepEqual(nextDue(daily, at('2026-11-23T12:00:00Z')), at('2026-11-24T03:00:00Z'));
  const paris = { ...daily, timezone: 'Europe/Paris' };
  // 03:00 in Paris is 02:00 UTC in winter and 01:00 UTC in summer.
  assert.deepEqual(nextDue(paris, at('2026-11-23T12:00:00Z')), at('2026-11-24T02:00:00Z'));
  assert.deepEqual(nextDue(paris, at('2026-07-01T12:00:00Z')), at('2026-07-02T01:00:00Z'));
});

test('weekly and monthly schedules use their day', () => {
  const weekly = { ...daily, frequency: 'weekly' as const, dayOfWeek: 1 };
  assert.deepEqual(nextDue(weekly, at('2026-11-23T12:00:00Z')), at('2026-11-30T03:00:00Z')); // a Monday
  const monthly = { ...daily, frequency: 'monthly' as const, dayOfMonth: 15 };
  assert.deepEqual(nextDue(monthly, at('2026-11-23T12:00:00Z')), at('2026-12-15T03:00:00Z'));
});

test('nothing is due before the time, and a due time is returned once it has passed', () => {
  const last = at('2026-11-23T03:00:00Z');
  assert.equal(dueNow(daily, last, at('2026-11-24T02:59:59Z')), null);
  assert.deepEqual(dueNow(daily, last, at('2026-11-24T03:00:00Z')), at('2026-11-24T03:00:00Z'));
});

test('the same due time is never returned twice once recorded as taken', () => {
  const taken = dueNow(daily, at('2026-11-23T03:00:00Z'), at('2026-11-24T03:00:05Z'));
  assert.ok(taken);
  assert.equal(dueNow(daily, taken, at('2026-11-24T03:10:00Z')), null);
});

test('a backup missed during less than a day of downtime is still taken, once', () => {
  // Down from 02:00 to 20:00: the 03:00 backup is 17 hours late.
  const due = dueNow(daily, at('2026-11-23T03:00:00Z'), at('2026-11-24T20:00:00Z'));
  assert.deepEqual(due, at('2026-11-24T03:00:00Z'));
});

test('after a long downtime only the newest missed backup is taken, and one older than a day is skipped', () => {
  assert.deepEqual(dueNow(daily, at('2026-11-20T03:00:00Z'), at('2026-11-24T05:00:00Z')), at('2026-11-24T03:00:00Z'));
  const weekly = { ...daily, frequency: 'weekly' as const, dayOfWeek: 1 };
  // Due Monday 30 Nov 03:00, server back on Wednesday: more than a day late, skipped.
  assert.equal(dueNow(weekly, at('2026-11-23T03:00:00Z'), at('2026-12-02T12:00:00Z')), null);
});

test('a disabled schedule is never due', () => {
  assert.equal(dueNow({ ...daily, enabled: false }, at('2026-11-20T03:00:00Z'), at('2026-11-24T05:00:00Z')), null);
});

test('validation names the field at fault', () => {
  assert.equal(validateSchedule(daily), null);
  assert.equal(validateSchedule({ ...daily, time: '24:00' })?.field, 'time');
  assert.equal(validateSchedule({ ...daily, time: '3:00' })?.field, 'time');
  assert.equal(validateSchedule({ ...daily, timezone: 'Mars/Base' })?.field, 'timezone');
  assert.equal(validateSchedule({ ...daily, retention: 0 })?.field, 'retention');
  assert.equal(validateSchedule({ ...daily, dayOfMonth: 31 })?.field, 'dayOfMonth');
});

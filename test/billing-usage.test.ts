// Billing maths (pure, src/domain/usage.ts and the built-in payment provider): started minutes, prices in
// integer micro-dollars, rounding, additivity of adjacent periods, the CSV writer and card validity.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseDollarsToMicros } from '../src/config.js';
import type { UsageReport } from '../src/api/schemas/billing.js';
import { usageCsv } from '../src/api/views/billing.js';
import { DomainError } from '../src/errors.js';
import { builtInProvider } from '../src/domain/payment-providers.js';
import { formatMicros, pausedMicros, price, runningMicros, snapshotMicros, startedMinutes, type Segment } from '../src/domain/usage.js';
import { meterOf } from '../src/domain/usage-meter.js';

const MIN = 60_000;
const T0 = Date.UTC(2026, 11, 1, 10, 0, 0);

function segment(meter: string, startMin: number, endMin: number | null, microsPerHour = 50_000, storageGb = 1): Segment {
  return {
    databaseId: 'd',
    environmentId: 'e',
    meter,
    plan: 'ds1',
    computeMicrosPerHour: microsPerHour,
    storageGb,
    storageMicrosPerGbMonth: 100_000,
    startMs: T0 + startMin * MIN,
    endMs: endMin === null ? null : T0 + endMin * MIN,
  };
}

describe('billing maths', () => {
  test('counts started minutes from the start of the segment', () => {
    assert.equal(startedMinutes(0, 90 * MIN, 0, Infinity), 90);
    assert.equal(startedMinutes(0, 90 * MIN + 1, 0, Infinity), 91);
    assert.equal(startedMinutes(0, 1, 0, Infinity), 1);
    assert.equal(startedMinutes(0, 0, 0, Infinity), 0);
    // A window that cuts a minute: the minute belongs to the window in which it starts.
    assert.equal(startedMinutes(0, 10 * MIN, 0, 4.5 * MIN), 5);
    assert.equal(startedMinutes(0, 10 * MIN, 4.5 * MIN, Infinity), 5);
  });

  test('adjacent periods add up exactly to the whole, for any cut', () => {
    const segments = [segment('running', 0, 37.3), segment('paused', 37.3, 95.9), segment('running', 95.9, null, 120_000, 10)];
    const now = T0 + 200.2 * MIN;
    const whole = price(segments, [], 50_000, T0, now, now).reduce((s, p) => s + p.micros, 0n);
    for (const cut of [1, 36.9, 37.3, 60, 95.95, 150.01]) {
      const a = price(segments, [], 50_000, T0, T0 + cut * MIN, now).reduce((s, p) => s + p.minutes, 0);
      const b = price(segments, [], 50_000, T0 + cut * MIN, now, now).reduce((s, p) => s + p.minutes, 0);
      const all = price(segments, [], 50_000, T0, now, now).reduce((s, p) => s + p.minutes, 0);
      assert.equal(a + b, all, `minutes at cut ${cut}`);
    }
    assert.ok(whole > 0n);
  });

  test('prices running minutes at the hourly price and paused minutes at the storage rate, in micro-dollars', () => {
    // DS1: $0.05/h → 90 minutes = $0.075 exactly.
    assert.equal(runningMicros(90, 50_000), 75_000n);
    // 1 minute of $0.05/h = 833.33… µ$, rounded half up.
    assert.equal(runningMicros(1, 50_000), 833n);
    assert.equal(runningMicros(2, 50_000), 1667n);
    // 1 GB at $0.10 per GB-month for 30 days (43,200 minutes) = $0.10.
    assert.equal(pausedMicros(43_200, 1, 100_000), 100_000n);
    assert.equal(pausedMicros(31, 1, 100_000), 72n);
    // 1 GiB stored for 30 days at $0.05 per GB-month = $0.05.
    assert.equal(snapshotMicros(2 ** 30, 30 * 86_400_000, 50_000), 50_000n);
  });

  test('formats micro-dollars as decimal strings, rounding half up to the cent', () => {
    assert.equal(formatMicros(75_000n), '0.08');
    assert.equal(formatMicros(74_999n), '0.07');
    assert.equal(formatMicros(75_000n, 6), '0.075000');
    assert.equal(formatMicros(50_000_000n), '50.00');
    assert.equal(formatMicros(0n), '0.00');
    assert.equal(parseDollarsToMicros('50'), 50_000_000);
    assert.equal(parseDollarsToMicros('0.10'), 100_000);
    assert.equal(parseDollarsToMicros('0.0000001'), null);
    assert.equal(parseDollarsToMicros('-1'), null);
  });

  test('transient states never change what a database is charged for', () => {
    assert.equal(meterOf('running'), 'running');
    assert.equal(meterOf('pausing'), 'running');
    assert.equal(meterOf('restarting'), 'running');
    assert.equal(meterOf('paused'), 'paused');
    assert.equal(meterOf('resuming'), 'paused');
    assert.equal(meterOf('failed'), 'paused');
    assert.equal(meterOf('provisioning'), 'stopped');
    assert.equal(meterOf('terminated'), 'stopped');
  });

  test('the CSV has one row per line and a total row, and defuses formula cells', () => {
    const report: UsageReport = {
      from: new Date(T0).toUTCString(),
      to: new Date(T0 + 60 * MIN).toUTCString(),
      groupBy: 'environment',
      currency: 'USD',
      charged: false,
      lines: [
        { databaseId: null, databaseName: null, environmentId: 'e1', environmentLabel: '=cmd,"x"', plan: 'ds1', kind: 'running', minutes: 60, hours: '1.00', gbMonths: '0.000000', amount: '0.05', amountExact: '0.050000' },
      ],
      totals: { running: '0.05', paused: '0.00', snapshots: '0.00', amount: '0.05', amountExact: '0.050000' },
    };
    const lines = usageCsv(report).trimEnd().split('\r\n');
    assert.equal(lines.length, 3);
    assert.equal(lines[0], 'environmentId,environmentLabel,databaseId,databaseName,plan,kind,minutes,hours,gbMonths,amount,amountExact,currency');
    assert.equal(lines[1], `e1,"'=cmd,""x""",,,ds1,running,60,1.00,0.000000,0.05,0.050000,USD`);
    assert.equal(lines[2], ',,,,,total,,,,0.05,0.050000,USD');
  });

  test('the built-in provider takes a card with a future expiry or an invoice, naming the field at fault', () => {
    const now = new Date(Date.UTC(2026, 11, 15));
    const fieldOf = (input: Record<string, unknown>) => {
      try {
        builtInProvider.parseMethod(input, now);
        return 'ok';
      } catch (err) {
        assert.ok(err instanceof DomainError && err.kind === 'invalid');
        return err.field;
      }
    };
    assert.equal(fieldOf({ type: 'card', last4: '4242', expMonth: 12, expYear: 2026 }), 'ok');
    assert.equal(fieldOf({ type: 'card', last4: '4242', expMonth: 11, expYear: 2026 }), 'expYear');
    assert.equal(fieldOf({ type: 'card', last4: '42', expMonth: 12, expYear: 2030 }), 'last4');
    assert.equal(fieldOf({ type: 'card', last4: '4242', expMonth: 13, expYear: 2030 }), 'expMonth');
    assert.equal(fieldOf({ type: 'invoice' }), 'ok');
    assert.equal(fieldOf({ type: 'invoice', last4: '4242' }), 'last4');
    const card = builtInProvider.parseMethod({ type: 'card', last4: '4242', expMonth: 12, expYear: 2026 }, now);
    assert.deepEqual(builtInProvider.validity(card, new Date(Date.UTC(2026, 11, 31, 23, 59))), { valid: true });
    const later = builtInProvider.validity(card, new Date(Date.UTC(2027, 0, 1)));
    assert.equal(later.valid, false);
    assert.match((later as { reason: string }).reason, /card ending 4242 expired at the end of 12\/2026/);
  });
});

// Grafeo's text forms of temporal values, both ways: the offset suffix it puts on times and datetimes in
// its plain rows (read by result-conversion.ts), and the ISO texts it takes for temporal parameters
// (written by parameters.ts).
import { daysFromCivil, fraction } from '../../calendar.js';
import type { CypherDuration } from '../../values.js';

export const MS_PER_DAY = 86_400_000;
export const NS_PER_SECOND = 1_000_000_000n;
const NS_PER_MINUTE = 60n * NS_PER_SECOND;

const OFFSET_RE = /(Z|[+-]\d{2}:?\d{2}(?::?\d{2})?)$/;

/** Offset seconds of an ISO time/datetime suffix such as `+02:00` or `Z`; null when there is none. */
export function offsetOf(text: string): bigint | null {
  const m = OFFSET_RE.exec(text);
  if (!m) return null;
  const s = m[1]!;
  if (s === 'Z') return 0n;
  const sign = s.startsWith('-') ? -1n : 1n;
  const digits = s.slice(1).replace(/:/g, '');
  const h = BigInt(digits.slice(0, 2));
  const min = BigInt(digits.slice(2, 4) || '0');
  const sec = BigInt(digits.slice(4, 6) || '0');
  return sign * (h * 3600n + min * 60n + sec);
}

/** Grafeo's datetime text (`2020-01-01T10:00:00.175857+02:00`, `-005-01-01T10:00:00Z`, `12000-…`) as an exact instant. */
export function parseDateTimeText(text: string): { seconds: bigint; nanoseconds: bigint; offset: bigint } | null {
  const m = /^([+-]?\d+)-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2}(?::?\d{2})?)$/.exec(text);
  if (!m) return null;
  const offset = offsetOf(m[8]!) ?? 0n;
  const days = daysFromCivil(BigInt(m[1]!), BigInt(m[2]!), BigInt(m[3]!));
  const local = days * 86_400n + BigInt(m[4]!) * 3600n + BigInt(m[5]!) * 60n + BigInt(m[6]!);
  return { seconds: local - offset, nanoseconds: BigInt((m[7] ?? '').padEnd(9, '0')), offset };
}

/**
 * Grafeo's ISO text for a duration, exact whatever the signs: the engine adds a seconds fraction as
 * positive even after a minus sign (`PT-0.5S` reads back +0.5 s), so the time part is written as whole
 * minutes (floored, maybe negative) and a positive remainder of seconds: -0.5 s is `PT-1M59.5S`.
 */
export function durationText(d: CypherDuration): string {
  const total = d.seconds * NS_PER_SECOND + d.nanoseconds;
  let minutes = total / NS_PER_MINUTE;
  let rest = total % NS_PER_MINUTE;
  if (rest < 0n) {
    rest += NS_PER_MINUTE;
    minutes -= 1n;
  }
  return `P${d.months}M${d.days}DT${minutes}M${rest / NS_PER_SECOND}${fraction(rest % NS_PER_SECOND)}S`;
}

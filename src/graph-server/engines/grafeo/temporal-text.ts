// Grafeo's text forms of temporal values, both ways: the offset suffix it puts on times and datetimes in
// its plain rows (read by result-conversion.ts), and the ISO texts it takes for temporal parameters
// (written by parameters.ts).
import type { CypherDuration } from '../../values.js';

export const MS_PER_DAY = 86_400_000;
export const NS_PER_SECOND = 1_000_000_000n;

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

function pad(n: bigint | number, width: number): string {
  const s = String(n < 0 ? -n : n);
  return s.padStart(width, '0');
}

export function timeText(nanoseconds: bigint): string {
  const total = nanoseconds;
  const h = total / 3_600_000_000_000n;
  const m = (total / 60_000_000_000n) % 60n;
  const s = (total / NS_PER_SECOND) % 60n;
  const ns = total % NS_PER_SECOND;
  return `${pad(h, 2)}:${pad(m, 2)}:${pad(s, 2)}${ns ? '.' + pad(ns, 9) : ''}`;
}

export function offsetText(offsetSeconds: bigint): string {
  if (offsetSeconds === 0n) return 'Z';
  const sign = offsetSeconds < 0n ? '-' : '+';
  const abs = offsetSeconds < 0n ? -offsetSeconds : offsetSeconds;
  const sec = abs % 60n;
  return `${sign}${pad(abs / 3600n, 2)}:${pad((abs / 60n) % 60n, 2)}${sec ? ':' + pad(sec, 2) : ''}`;
}

export function dateText(days: bigint): string {
  return new Date(Number(days) * MS_PER_DAY).toISOString().slice(0, 10);
}

export function localDateTimeText(seconds: bigint, nanoseconds: bigint): string {
  return new Date(Number(seconds) * 1000).toISOString().slice(0, 19) + (nanoseconds ? '.' + pad(nanoseconds, 9) : '');
}

/** The UTC offset of IANA zone `zone` at `epochSeconds`; 0 for a zone this Node does not know. */
export function zoneOffsetSeconds(zone: string, epochSeconds: bigint): bigint {
  try {
    const parts = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    }).formatToParts(new Date(Number(epochSeconds) * 1000));
    const get = (t: string) => Number(parts.find((p) => p.type === t)?.value);
    const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
    return BigInt(Math.round(asUtc / 1000 - Number(epochSeconds)));
  } catch {
    return 0n;
  }
}

export function durationText(d: CypherDuration): string {
  const totalNs = d.seconds * NS_PER_SECOND + d.nanoseconds;
  const neg = totalNs < 0n;
  const abs = neg ? -totalNs : totalNs;
  const secs = abs / NS_PER_SECOND;
  const frac = abs % NS_PER_SECOND;
  const secText = `${neg ? '-' : ''}${secs}${frac ? '.' + pad(frac, 9).replace(/0+$/, '') : ''}`;
  return `P${d.months}M${d.days}DT${secText}S`;
}

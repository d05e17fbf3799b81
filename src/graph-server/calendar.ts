// Proleptic Gregorian calendar arithmetic on bigints, for the whole range Cypher allows (years
// ±999,999,999), which JavaScript's Date (±275,760 years) cannot reach. Algorithms from Howard Hinnant,
// "chrono-Compatible Low-Level Date Algorithms".

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

/** Days since 1970-01-01 of a year (astronomical: 0 is 1 BC), month 1–12 and day 1–31. */
export function daysFromCivil(year: bigint, month: bigint, day: bigint): bigint {
  const y = month <= 2n ? year - 1n : year;
  const era = floorDiv(y, 400n);
  const yoe = y - era * 400n;
  const doy = (153n * (month > 2n ? month - 3n : month + 9n) + 2n) / 5n + day - 1n;
  const doe = yoe * 365n + yoe / 4n - yoe / 100n + doy;
  return era * 146_097n + doe - 719_468n;
}

export function civilFromDays(days: bigint): { year: bigint; month: bigint; day: bigint } {
  const z = days + 719_468n;
  const era = floorDiv(z, 146_097n);
  const doe = z - era * 146_097n;
  const yoe = (doe - doe / 1460n + doe / 36_524n - doe / 146_096n) / 365n;
  const doy = doe - (365n * yoe + yoe / 4n - yoe / 100n);
  const mp = (5n * doy + 2n) / 153n;
  const day = doy - (153n * mp + 2n) / 5n + 1n;
  const month = mp < 10n ? mp + 3n : mp - 9n;
  return { year: yoe + era * 400n + (month <= 2n ? 1n : 0n), month, day };
}

/** Splits seconds since the epoch into whole days and the seconds into the day (0 ≤ s < 86,400). */
export function splitDay(seconds: bigint): { days: bigint; secondOfDay: bigint } {
  const days = floorDiv(seconds, 86_400n);
  return { days, secondOfDay: seconds - days * 86_400n };
}

const NS = 1_000_000_000n;

export function pad(n: bigint, width: number): string {
  return String(n < 0n ? -n : n).padStart(width, '0');
}

/** `.5`, `.123456789`: the fraction of a second without trailing zeros; empty for none. */
export function fraction(ns: bigint): string {
  return ns ? '.' + pad(ns, 9).replace(/0+$/, '') : '';
}

export function isoTimeText(nanoseconds: bigint): string {
  const secs = nanoseconds / NS;
  return `${pad(secs / 3600n, 2)}:${pad((secs / 60n) % 60n, 2)}:${pad(secs % 60n, 2)}${fraction(nanoseconds % NS)}`;
}

export function isoOffsetText(offset: bigint): string {
  if (offset === 0n) return 'Z';
  const abs = offset < 0n ? -offset : offset;
  const sec = abs % 60n;
  return `${offset < 0n ? '-' : '+'}${pad(abs / 3600n, 2)}:${pad((abs / 60n) % 60n, 2)}${sec ? ':' + pad(sec, 2) : ''}`;
}

/** As Java's ISO_LOCAL_DATE writes it, over Cypher's ±999,999,999 years: `+10000-01-01`, `-0001-01-01`. */
export function isoDateText(days: bigint): string {
  const { year, month, day } = civilFromDays(days);
  const y = year < 0n ? `-${pad(year, 4)}` : year > 9999n ? `+${year}` : pad(year, 4);
  return `${y}-${pad(month, 2)}-${pad(day, 2)}`;
}

export function isoLocalDateTimeText(seconds: bigint, nanoseconds: bigint): string {
  const { days, secondOfDay } = splitDay(seconds);
  return `${isoDateText(days)}T${isoTimeText(secondOfDay * NS + nanoseconds)}`;
}

// Usage and its price, derived from the meter rows (src/domain/usage-meter.ts) and the stored life of
// snapshots. Pure arithmetic in integers: amounts are micro-dollars (1e-6 USD) as BigInt while computed,
// rounded half-up once per segment, shown as decimal strings.
//
// - Running: the plan's hourly price per started minute. Minutes are counted from the moment the segment
//   (one meter row until the next) began, and a minute belongs to the period in which it starts, so usage
//   of adjacent periods adds up exactly to the usage of both together.
// - Paused (and failed): storage only, the plan's storage GB at the storage rate per GB-month, also per
//   started minute. A month is 30 days (43,200 minutes; 2,592,000 seconds).
// - Snapshots (not the internal seeds of clones): bytes stored × time at the snapshot rate per GB-month
//   (1 GB = 2^30 bytes), by the millisecond, at the rate configured now.
import type { Kysely } from 'kysely';
import type { Tables } from '../store/schema/index.js';

export const MINUTE_MS = 60_000;
export const MONTH_MINUTES = 43_200;
const MONTH_MS = BigInt(MONTH_MINUTES * MINUTE_MS);
const GB = 1n << 30n;

export type UsageKind = 'running' | 'paused' | 'snapshots';

/** One meter row until the next (or until now): what a database was charged for over that time. */
export interface Segment {
  databaseId: string;
  environmentId: string;
  meter: string;
  plan: string;
  computeMicrosPerHour: number;
  storageGb: number;
  storageMicrosPerGbMonth: number;
  startMs: number;
  /** Exclusive; null while it lasts. */
  endMs: number | null;
}

export interface StoredSnapshot {
  databaseId: string;
  environmentId: string;
  sizeBytes: number;
  fromMs: number;
  /** Null while it is still kept. */
  untilMs: number | null;
}

/** Minutes of a segment starting at `startMs` and ending (exclusive) at `endMs` whose start falls in [fromMs, toMs). */
export function startedMinutes(startMs: number, endMs: number, fromMs: number, toMs: number): number {
  const lo = Math.max(fromMs, startMs);
  const hi = Math.min(toMs, endMs);
  if (hi <= lo) return 0;
  return Math.ceil((hi - startMs) / MINUTE_MS) - Math.ceil((lo - startMs) / MINUTE_MS);
}

/** n / d rounded half up, for n ≥ 0 and d > 0. */
export function divRound(n: bigint, d: bigint): bigint {
  return (2n * n + d) / (2n * d);
}

export function runningMicros(minutes: number, computeMicrosPerHour: number): bigint {
  return divRound(BigInt(minutes) * BigInt(computeMicrosPerHour), 60n);
}

export function pausedMicros(minutes: number, storageGb: number, microsPerGbMonth: number): bigint {
  return divRound(BigInt(minutes) * BigInt(storageGb) * BigInt(microsPerGbMonth), BigInt(MONTH_MINUTES));
}

export function snapshotMicros(sizeBytes: number, storedMs: number, microsPerGbMonth: number): bigint {
  return divRound(BigInt(sizeBytes) * BigInt(storedMs) * BigInt(microsPerGbMonth), GB * MONTH_MS);
}

/** Micro-dollars as a decimal string: `decimals` 2 rounds half up to the cent, 6 is exact. */
export function formatMicros(micros: bigint, decimals: 2 | 6 = 2): string {
  const units = decimals === 2 ? divRound(micros, 10_000n) : micros;
  const scale = 10n ** BigInt(decimals);
  return `${units / scale}.${(units % scale).toString().padStart(decimals, '0')}`;
}

/** GB-months as a decimal string with 6 places (rounded half up). */
export function formatGbMonths(byteMs: bigint): string {
  return formatMicros(divRound(byteMs * 1_000_000n, GB * MONTH_MS), 6);
}

export interface UsagePiece {
  databaseId: string;
  environmentId: string;
  /** The plan for running/paused pieces; empty for snapshots. */
  plan: string;
  kind: UsageKind;
  minutes: number;
  /** Bytes × milliseconds stored (snapshots). */
  byteMs: bigint;
  micros: bigint;
}

/** What each segment and stored snapshot costs within [fromMs, toMs), with `nowMs` ending what still lasts. */
export function price(
  segments: readonly Segment[],
  snapshots: readonly StoredSnapshot[],
  snapshotMicrosPerGbMonth: number,
  fromMs: number,
  toMs: number,
  nowMs: number,
): UsagePiece[] {
  const until = Math.min(toMs, nowMs);
  const out: UsagePiece[] = [];
  for (const s of segments) {
    if (s.meter !== 'running' && s.meter !== 'paused') continue;
    const minutes = startedMinutes(s.startMs, s.endMs ?? nowMs, fromMs, until);
    if (minutes === 0) continue;
    const micros = s.meter === 'running' ? runningMicros(minutes, s.computeMicrosPerHour) : pausedMicros(minutes, s.storageGb, s.storageMicrosPerGbMonth);
    out.push({ databaseId: s.databaseId, environmentId: s.environmentId, plan: s.plan, kind: s.meter, minutes, byteMs: 0n, micros });
  }
  for (const s of snapshots) {
    const lo = Math.max(fromMs, s.fromMs);
    const hi = Math.min(until, s.untilMs ?? nowMs);
    if (hi <= lo) continue;
    out.push({
      databaseId: s.databaseId,
      environmentId: s.environmentId,
      plan: '',
      kind: 'snapshots',
      minutes: 0,
      byteMs: BigInt(s.sizeBytes) * BigInt(hi - lo),
      micros: snapshotMicros(s.sizeBytes, hi - lo, snapshotMicrosPerGbMonth),
    });
  }
  return out;
}

/** The organization's meter as segments, and its stored snapshots, that may overlap anything before `toMs`. */
export async function loadUsage(
  db: Kysely<Tables>,
  organizationId: string,
  toMs: number,
): Promise<{ segments: Segment[]; snapshots: StoredSnapshot[] }> {
  const to = new Date(toMs).toISOString();
  const events = await db.selectFrom('usage_events').selectAll().where('organization_id', '=', organizationId).where('at', '<', to).orderBy('database_id').orderBy('seq').execute();
  const segments: Segment[] = [];
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    const next = events[i + 1];
    segments.push({
      databaseId: e.database_id,
      environmentId: e.environment_id,
      meter: e.meter,
      plan: e.plan,
      computeMicrosPerHour: Number(e.compute_micros_per_hour),
      storageGb: Number(e.storage_gb),
      storageMicrosPerGbMonth: Number(e.storage_micros_per_gb_month),
      startMs: Date.parse(e.at),
      endMs: next && next.database_id === e.database_id ? Date.parse(next.at) : null,
    });
  }
  const gone = await db.selectFrom('snapshot_storage').selectAll().where('organization_id', '=', organizationId).where('stored_from', '<', to).execute();
  const live = await db
    .selectFrom('snapshots')
    .innerJoin('databases', 'databases.id', 'snapshots.database_id')
    .select(['snapshots.id', 'snapshots.database_id', 'databases.environment_id', 'snapshots.size_bytes', 'snapshots.created_at'])
    .where('snapshots.organization_id', '=', organizationId)
    .where('snapshots.status', '=', 'ready')
    .where('snapshots.kind', '<>', 'clone')
    .where('snapshots.created_at', '<', to)
    .execute();
  const goneIds = new Set(gone.map((g) => g.snapshot_id));
  const snapshots: StoredSnapshot[] = [
    ...gone.map((g) => ({
      databaseId: g.database_id,
      environmentId: g.environment_id,
      sizeBytes: Number(g.size_bytes),
      fromMs: Date.parse(g.stored_from),
      untilMs: Date.parse(g.stored_until),
    })),
    // A row whose deletion was recorded but not yet carried out (a crash in between) is counted once.
    ...live.filter((l) => !goneIds.has(l.id)).map((l) => ({
      databaseId: l.database_id,
      environmentId: l.environment_id,
      sizeBytes: Number(l.size_bytes ?? 0),
      fromMs: Date.parse(l.created_at),
      untilMs: null,
    })),
  ];
  return { segments, snapshots };
}

/** Total micro-dollars of an organization's usage in [fromMs, toMs). */
export async function usageMicros(db: Kysely<Tables>, organizationId: string, fromMs: number, toMs: number, nowMs: number, snapshotMicrosPerGbMonth: number): Promise<bigint> {
  const { segments, snapshots } = await loadUsage(db, organizationId, toMs);
  return price(segments, snapshots, snapshotMicrosPerGbMonth, fromMs, toMs, nowMs).reduce((sum, p) => sum + p.micros, 0n);
}

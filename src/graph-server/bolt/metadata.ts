// What Bolt puts into SUCCESS and FAILURE metadata, per protocol version: query summaries
// (stats, notifications ≤5.4 vs GQL statuses 5.6+) and failures ({code} ≤5.6 vs GQL shape 5.7+).
import type { Notification, PlanOperator, Position, QueryResult } from '../engine-api.js';
import type { ValueMap } from '../values.js';

/** Notification filters (5.2+) from HELLO, overridable per BEGIN/RUN. */
export interface NotificationFilter {
  minSeverity: string | null; // "OFF", "WARNING", "INFORMATION"
  disabled: string[]; // categories / classifications
}

export function readFilter(extra: ValueMap, base: NotificationFilter): NotificationFilter {
  const out = { ...base };
  if (typeof extra.notifications_minimum_severity === 'string') out.minSeverity = extra.notifications_minimum_severity.toUpperCase();
  for (const key of ['notifications_disabled_categories', 'notifications_disabled_classifications']) {
    const v = extra[key];
    if (Array.isArray(v)) out.disabled = v.filter((c): c is string => typeof c === 'string').map((c) => c.toUpperCase());
  }
  return out;
}

export function applyFilter(list: Notification[], f: NotificationFilter): Notification[] {
  if (f.minSeverity === 'OFF') return [];
  return list.filter(
    (n) => !(f.minSeverity === 'WARNING' && n.severity !== 'WARNING') && !(n.category && f.disabled.includes(n.category.toUpperCase())),
  );
}

function positionMap(p: Position): ValueMap {
  return { offset: BigInt(p.offset), line: BigInt(p.line), column: BigInt(p.column) };
}

const STATUS_DIAGNOSTIC = { OPERATION: '', OPERATION_CODE: '0', CURRENT_SCHEMA: '/' };

function completionStatus(result: QueryResult): ValueMap {
  const [gql_status, status_description] =
    result.fields.length === 0
      ? ['00001', 'note: successful completion - omitted result']
      : result.records.length === 0
        ? ['02000', 'note: no data']
        : ['00000', 'note: successful completion'];
  return { gql_status, status_description, diagnostic_record: { ...STATUS_DIAGNOSTIC } };
}

function notificationStatus(n: Notification): ValueMap {
  const warning = n.severity === 'WARNING';
  const diagnostic: ValueMap = { ...STATUS_DIAGNOSTIC, _severity: n.severity, _classification: n.category ?? 'GENERIC' };
  if (n.position) diagnostic._position = positionMap(n.position);
  return {
    gql_status: n.gqlStatus ?? (warning ? '01N42' : '03N42'),
    status_description: `${warning ? 'warn' : 'info'}: ${n.description}`,
    neo4j_code: n.code,
    title: n.title,
    description: n.description,
    diagnostic_record: diagnostic,
  };
}

function legacyNotification(n: Notification): ValueMap {
  const out: ValueMap = { code: n.code, title: n.title, description: n.description, severity: n.severity };
  if (n.category) out.category = n.category;
  if (n.position) out.position = positionMap(n.position);
  return out;
}

export interface SummaryOptions {
  /** Only for auto-commit results. */
  bookmark: string | null;
  db: string;
  tLastMs: number;
  /** 5.6+: GQL `statuses` instead of `notifications`. */
  statuses: boolean;
  filter: NotificationFilter;
}

function planMetadata(op: PlanOperator): ValueMap {
  const out: ValueMap = { operatorType: op.operatorType, identifiers: op.identifiers, args: { ...op.args }, children: op.children.map(planMetadata) };
  if (op.rows !== undefined) {
    out.rows = BigInt(op.rows);
    out.dbHits = BigInt(op.dbHits ?? 0);
    out.time = BigInt(op.time ?? 0);
    out.pageCacheHits = 0n;
    out.pageCacheMisses = 0n;
    out.pageCacheHitRatio = 0;
  }
  return out;
}

/** The final PULL/DISCARD SUCCESS metadata of a result. */
export function summaryMetadata(result: QueryResult, o: SummaryOptions): ValueMap {
  const s = result.summary;
  const meta: ValueMap = {};
  if (o.bookmark !== null) meta.bookmark = o.bookmark;
  meta.type = s.queryType;
  meta.t_last = BigInt(o.tLastMs);
  meta.db = o.db;
  const stats: ValueMap = {};
  for (const [k, v] of Object.entries(s.stats)) if (v) stats[k] = BigInt(v);
  if (Object.keys(stats).length > 0) {
    stats['contains-updates'] = true;
    meta.stats = stats;
  }
  if (s.plan) meta.plan = planMetadata(s.plan);
  if (s.profile) meta.profile = planMetadata(s.profile);
  const notifications = applyFilter(s.notifications, o.filter);
  if (o.statuses) {
    meta.statuses = [completionStatus(result), ...notifications.map(notificationStatus)];
  } else if (notifications.length > 0) {
    meta.notifications = notifications.map(legacyNotification);
  }
  return meta;
}

/** FAILURE metadata: `{code, message}` up to 5.6; from 5.7 the GQL shape, where drivers read `neo4j_code`. */
export function failureMetadata(code: string, message: string, gqlStatus: string, gqlShape: boolean, position?: Position): ValueMap {
  if (!gqlShape) return { code, message };
  const classification = code.includes('TransientError') ? 'TRANSIENT_ERROR' : code.includes('DatabaseError') ? 'DATABASE_ERROR' : 'CLIENT_ERROR';
  const diagnostic: ValueMap = { ...STATUS_DIAGNOSTIC, _classification: classification };
  if (position) diagnostic._position = positionMap(position);
  return { neo4j_code: code, message, gql_status: gqlStatus, description: `error: ${message}`, diagnostic_record: diagnostic };
}

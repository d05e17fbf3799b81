// Billing (api.md §6): each organization's account (credit and payment method), the check that refuses
// billable actions with 402 once the credit is spent and no valid payment method exists, the usage report
// and the monthly statement. Amounts come from src/domain/usage.ts; money is integer micro-dollars.
//
// Decisions: with credit left, no payment method is needed (the reference gives $50 of credit to start);
// the 402 comes when the credit is spent and no valid method (an unexpired card, or invoice) is on file.
// The account opens — and charging starts — at the organization's first billable action or billing
// request with billing on; usage before that (billing off) stays showback. With billing off nothing is
// refused and nothing charged, but usage is reported all the same.
import type { Kysely } from 'kysely';
import type { Caller } from '../auth/caller.js';
import { requireBillingAccess } from '../auth/policy.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Tables } from '../store/schema/index.js';
import { invalid, paymentRequired } from '../errors.js';
import { PAYMENT_PROVIDERS, builtInProvider, type StoredPaymentMethod } from './payment-providers.js';
import { formatMicros, loadUsage, price, usageMicros, type UsageKind, type UsagePiece } from './usage.js';

export interface BillingDeps {
  db: Kysely<Tables>;
  clock: Clock;
  billing: Config['billing'];
}

export const CURRENCY = 'USD' as const;
const PAYMENT_METHOD_PATH = 'PUT /organizations/billing/payment-method';

interface Account {
  creditMicros: bigint;
  paymentMethod: StoredPaymentMethod | null;
  openedAt: Date;
}

/** The organization's account, opened now (with the configured credit) if it has none. */
async function openAccount(deps: BillingDeps, organizationId: string): Promise<Account> {
  const now = deps.clock.now().toISOString();
  // Insert-if-absent: two control planes opening the same account at once keep the first one's credit.
  await deps.db
    .insertInto('billing_accounts')
    .values({ organization_id: organizationId, credit_micros: deps.billing.initialCreditMicros, payment_method: null, opened_at: now, updated_at: now })
    .onConflict((oc) => oc.column('organization_id').doNothing())
    .execute();
  const row = await deps.db.selectFrom('billing_accounts').selectAll().where('organization_id', '=', organizationId).executeTakeFirstOrThrow();
  return { creditMicros: BigInt(row.credit_micros), paymentMethod: row.payment_method ? (JSON.parse(row.payment_method) as StoredPaymentMethod) : null, openedAt: new Date(row.opened_at) };
}

async function findAccount(deps: BillingDeps, organizationId: string): Promise<Account | null> {
  const row = await deps.db.selectFrom('billing_accounts').selectAll().where('organization_id', '=', organizationId).executeTakeFirst();
  return row ? { creditMicros: BigInt(row.credit_micros), paymentMethod: row.payment_method ? (JSON.parse(row.payment_method) as StoredPaymentMethod) : null, openedAt: new Date(row.opened_at) } : null;
}

function providerOf(method: StoredPaymentMethod) {
  return PAYMENT_PROVIDERS.get(method.provider) ?? builtInProvider;
}

/** Charges since the account opened, until now. */
async function chargedMicros(deps: BillingDeps, organizationId: string, account: Account): Promise<bigint> {
  const now = deps.clock.now().getTime();
  return usageMicros(deps.db, organizationId, account.openedAt.getTime(), now, now, deps.billing.snapshotMicrosPerGbMonth);
}

const max0 = (n: bigint) => (n > 0n ? n : 0n);

/** An organization's account; amounts in micro-dollars (the API writes them as decimal strings). */
export interface BillingSummary {
  enabled: boolean;
  /** The method on file (what its provider stored: no secrets) and whether it can pay now. */
  paymentMethod: { stored: StoredPaymentMethod; valid: boolean } | null;
  currency: typeof CURRENCY;
  /** The credit left: the initial credit less the charges, never below 0. */
  creditBalanceMicros: bigint;
  initialCreditMicros: bigint;
  chargesMicros: bigint;
  /** Charges beyond the credit. */
  amountOwedMicros: bigint;
  accountOpenedAt: Date | null;
}

export async function getBilling(deps: BillingDeps, caller: Caller): Promise<BillingSummary> {
  requireBillingAccess(caller, 'read billing');
  const now = deps.clock.now();
  const account = deps.billing.enabled ? await openAccount(deps, caller.organizationId) : await findAccount(deps, caller.organizationId);
  const credit = account?.creditMicros ?? BigInt(deps.billing.initialCreditMicros);
  const charges = deps.billing.enabled && account ? await chargedMicros(deps, caller.organizationId, account) : 0n;
  return {
    enabled: deps.billing.enabled,
    paymentMethod: account?.paymentMethod ? { stored: account.paymentMethod, valid: providerOf(account.paymentMethod).validity(account.paymentMethod, now).valid } : null,
    currency: CURRENCY,
    creditBalanceMicros: max0(credit - charges),
    initialCreditMicros: credit,
    chargesMicros: charges,
    amountOwedMicros: max0(charges - credit),
    accountOpenedAt: deps.billing.enabled ? (account?.openedAt ?? null) : null,
  };
}

export async function setPaymentMethod(deps: BillingDeps, caller: Caller, input: Record<string, unknown>): Promise<BillingSummary> {
  requireBillingAccess(caller, 'change the payment method');
  const method = builtInProvider.parseMethod(input, deps.clock.now());
  await openAccount(deps, caller.organizationId);
  await deps.db
    .updateTable('billing_accounts')
    .set({ payment_method: JSON.stringify(method), updated_at: deps.clock.now().toISOString() })
    .where('organization_id', '=', caller.organizationId)
    .execute();
  return getBilling(deps, caller);
}

/**
 * Throws 402 when billing is on, the organization's credit is spent and it has no valid payment method.
 * `what` completes "cannot …": e.g. `create the database`.
 */
export async function assertMayStartBilling(deps: BillingDeps, organizationId: string, what: string): Promise<void> {
  if (!deps.billing.enabled) return;
  const account = await openAccount(deps, organizationId);
  const now = deps.clock.now();
  const method = account.paymentMethod;
  const validity = method ? providerOf(method).validity(method, now) : null;
  if (validity?.valid) return;
  if ((await chargedMicros(deps, organizationId, account)) < account.creditMicros) return;
  const credit = formatMicros(account.creditMicros);
  if (!validity) throw paymentRequired(`cannot ${what}: the organization's credit of $${credit} is spent and it has no payment method; add one: ${PAYMENT_METHOD_PATH}`);
  throw paymentRequired(`cannot ${what}: the organization's credit of $${credit} is spent and ${validity.reason}; add a valid payment method: ${PAYMENT_METHOD_PATH}`);
}

// ---------------------------------------------------------------------------------------------------
// Usage report and statements

export type GroupBy = 'database' | 'environment';

/** One line of a usage report: a database (or an environment), a plan and a kind of usage. */
export interface UsageLine {
  databaseId: string | null;
  databaseName: string | null;
  environmentId: string;
  environmentLabel: string | null;
  plan: string | null;
  kind: UsageKind;
  /** Started minutes (running, paused). */
  minutes: number;
  /** Snapshots: bytes stored × milliseconds. */
  byteMs: bigint;
  /** The price, exact, in micro-dollars. */
  micros: bigint;
}

/** Usage and its price between two instants; the API writes the amounts as decimal strings (src/api/views/billing.ts). */
export interface UsageReport {
  from: Date;
  to: Date;
  groupBy: GroupBy;
  currency: typeof CURRENCY;
  charged: boolean;
  lines: UsageLine[];
  /** Micro-dollars per kind. */
  totals: Record<UsageKind, bigint>;
}

/** `2026-12-01`, `2026-12-01T10:00:00Z` or an IMF-fixdate; 400 naming `field` otherwise. */
export function parseDateParam(field: string, value: string): Date {
  const ms = /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value) || /GMT$/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) throw invalid(field, `${field} must be a date like 2026-12-01 or 2026-12-01T10:00:00Z, got '${value}'`);
  return new Date(ms);
}

function startOfMonth(d: Date): Date {
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1));
}

async function buildReport(deps: BillingDeps, caller: Caller, from: Date, to: Date, groupBy: GroupBy): Promise<UsageReport> {
  const now = deps.clock.now();
  const { segments, snapshots } = await loadUsage(deps.db, caller.organizationId, to.getTime());
  const pieces = price(segments, snapshots, deps.billing.snapshotMicrosPerGbMonth, from.getTime(), to.getTime(), now.getTime());
  const names = new Map((await deps.db.selectFrom('databases').select(['id', 'name']).where('organization_id', '=', caller.organizationId).execute()).map((r) => [r.id, r.name]));
  const labels = new Map((await deps.db.selectFrom('environments').select(['id', 'label']).where('organization_id', '=', caller.organizationId).execute()).map((r) => [r.id, r.label]));
  const lines = new Map<string, UsageLine>();
  const totals: Record<UsageKind, bigint> = { running: 0n, paused: 0n, snapshots: 0n };
  const add = (p: UsagePiece) => {
    totals[p.kind] += p.micros;
    const byDatabase = groupBy === 'database';
    const key = `${byDatabase ? p.databaseId : p.environmentId}|${p.plan}|${p.kind}`;
    let entry = lines.get(key);
    if (!entry) {
      entry = {
        databaseId: byDatabase ? p.databaseId : null,
        databaseName: byDatabase ? (names.get(p.databaseId) ?? null) : null,
        environmentId: p.environmentId,
        environmentLabel: labels.get(p.environmentId) ?? null,
        plan: p.plan || null,
        kind: p.kind,
        minutes: 0,
        byteMs: 0n,
        micros: 0n,
      };
      lines.set(key, entry);
    }
    entry.minutes += p.minutes;
    entry.byteMs += p.byteMs;
    entry.micros += p.micros;
  };
  pieces.forEach(add);
  const order: Record<UsageKind, number> = { running: 0, paused: 1, snapshots: 2 };
  const out = [...lines.values()]
    .sort((a, b) => (a.environmentLabel ?? '').localeCompare(b.environmentLabel ?? '') || (a.databaseName ?? '').localeCompare(b.databaseName ?? '') || (a.databaseId ?? '').localeCompare(b.databaseId ?? '') || order[a.kind] - order[b.kind] || (a.plan ?? '').localeCompare(b.plan ?? ''));
  return { from, to, groupBy, currency: CURRENCY, charged: deps.billing.enabled, lines: out, totals };
}

export async function usageReport(deps: BillingDeps, caller: Caller, query: { from?: string; to?: string; groupBy?: string }): Promise<UsageReport> {
  requireBillingAccess(caller, 'read usage');
  const now = deps.clock.now();
  const from = query.from ? parseDateParam('from', query.from) : startOfMonth(now);
  const to = query.to ? parseDateParam('to', query.to) : now;
  if (to.getTime() <= from.getTime()) throw invalid('to', `to (${to.toISOString()}) must be after from (${from.toISOString()})`);
  const groupBy = (query.groupBy ?? 'database') as GroupBy;
  if (groupBy !== 'database' && groupBy !== 'environment') throw invalid('groupBy', `groupBy '${String(query.groupBy)}' is not one of database, environment`);
  return buildReport(deps, caller, from, to, groupBy);
}

/** A month's report with what the account is charged for it; micro-dollars. */
export interface Statement extends UsageReport {
  month: string;
  /** Usage after the account opened (0 with billing off). */
  chargesMicros: bigint;
  /** Credit drawn down by this month's charges. */
  creditAppliedMicros: bigint;
  /** Charges less the credit applied. */
  amountDueMicros: bigint;
}

export async function monthlyStatement(deps: BillingDeps, caller: Caller, month: string): Promise<Statement> {
  requireBillingAccess(caller, 'read statements');
  const m = /^(\d{4})-(\d{2})$/.exec(month);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 12) throw invalid('month', `month must be written yyyy-mm, e.g. 2026-12, got '${month}'`);
  const from = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, 1));
  const to = new Date(Date.UTC(Number(m[1]), Number(m[2]), 1));
  const report = await buildReport(deps, caller, from, to, 'database');
  const now = deps.clock.now().getTime();
  const account = deps.billing.enabled ? await findAccount(deps, caller.organizationId) : null;
  let charges = 0n;
  let applied = 0n;
  if (account) {
    const opened = account.openedAt.getTime();
    const snapshotRate = deps.billing.snapshotMicrosPerGbMonth;
    const before = from.getTime() > opened ? await usageMicros(deps.db, caller.organizationId, opened, from.getTime(), now, snapshotRate) : 0n;
    charges = await usageMicros(deps.db, caller.organizationId, Math.max(opened, from.getTime()), to.getTime(), now, snapshotRate);
    const creditLeft = max0(account.creditMicros - before);
    applied = charges < creditLeft ? charges : creditLeft;
  }
  return { ...report, month, chargesMicros: charges, creditAppliedMicros: applied, amountDueMicros: charges - applied };
}

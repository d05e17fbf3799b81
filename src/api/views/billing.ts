// The billing account, usage reports and statements as the API shows them (api.md §6), from the domain's
// objects: micro-dollars written as decimal strings (dollars rounded half up to the cent, and exact to the
// micro-dollar), minutes as hours, snapshot storage as GB-months, dates as HTTP dates. The CSV form of a
// report is written from the same view, so both forms carry the same figures.
import type { BillingSummary, Statement, UsageLine, UsageReport } from '../../domain/billing.js';
import { formatGbMonths, formatMicros } from '../../domain/usage.js';
import { httpDate, httpDateOrNull } from '../dates.js';
import type { Billing, PaymentMethodView, Statement as StatementView, UsageLine as UsageLineView, UsageReport as UsageReportView } from '../schemas/billing.js';

/** The method's own fields (the built-in provider's: a card's last four digits and expiry), never a secret. */
function paymentMethodView({ stored, valid }: NonNullable<BillingSummary['paymentMethod']>): PaymentMethodView {
  if (stored.type === 'card') return { type: 'card', provider: stored.provider, last4: String(stored.last4), expMonth: Number(stored.expMonth), expYear: Number(stored.expYear), valid };
  return { type: 'invoice', provider: stored.provider, valid };
}

export function billingView(b: BillingSummary): Billing {
  return {
    paymentMethod: b.paymentMethod ? paymentMethodView(b.paymentMethod) : null,
    creditBalance: formatMicros(b.creditBalanceMicros),
    currency: b.currency,
    enabled: b.enabled,
    initialCredit: formatMicros(b.initialCreditMicros),
    charges: formatMicros(b.chargesMicros),
    amountOwed: formatMicros(b.amountOwedMicros),
    accountOpenedAt: httpDateOrNull(b.accountOpenedAt),
  };
}

/** `minutes / 60` with two decimals. */
function hoursOf(minutes: number): string {
  const hundredths = Math.round((minutes * 100) / 60);
  return `${Math.floor(hundredths / 100)}.${String(hundredths % 100).padStart(2, '0')}`;
}

function lineView(l: UsageLine): UsageLineView {
  return {
    databaseId: l.databaseId,
    databaseName: l.databaseName,
    environmentId: l.environmentId,
    environmentLabel: l.environmentLabel,
    plan: l.plan,
    kind: l.kind,
    minutes: l.minutes,
    hours: hoursOf(l.minutes),
    gbMonths: formatGbMonths(l.byteMs),
    amount: formatMicros(l.micros),
    amountExact: formatMicros(l.micros, 6),
  };
}

export function reportView(r: UsageReport): UsageReportView {
  const all = r.totals.running + r.totals.paused + r.totals.snapshots;
  return {
    from: httpDate(r.from),
    to: httpDate(r.to),
    groupBy: r.groupBy,
    currency: r.currency,
    charged: r.charged,
    lines: r.lines.map(lineView),
    // The total is rounded once from the exact sum, so line amounts may differ from it by rounding.
    totals: { running: formatMicros(r.totals.running), paused: formatMicros(r.totals.paused), snapshots: formatMicros(r.totals.snapshots), amount: formatMicros(all), amountExact: formatMicros(all, 6) },
  };
}

export function statementView(s: Statement): StatementView {
  return { ...reportView(s), month: s.month, charges: formatMicros(s.chargesMicros), creditApplied: formatMicros(s.creditAppliedMicros), amountDue: formatMicros(s.amountDueMicros) };
}

/** A report as CSV: one row per line, then a total row. Cells that a spreadsheet would run as a formula are quoted with a leading apostrophe. */
export function usageCsv(report: UsageReportView): string {
  const cell = (v: string | number | null): string => {
    let s = v === null ? '' : String(v);
    if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
    return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  const header = ['environmentId', 'environmentLabel', 'databaseId', 'databaseName', 'plan', 'kind', 'minutes', 'hours', 'gbMonths', 'amount', 'amountExact', 'currency'];
  const rows = report.lines.map((l) => [l.environmentId, l.environmentLabel, l.databaseId, l.databaseName, l.plan, l.kind, l.minutes, l.hours, l.gbMonths, l.amount, l.amountExact, report.currency]);
  rows.push(['', '', '', '', '', 'total', '', '', '', report.totals.amount, report.totals.amountExact, report.currency]);
  return [header, ...rows].map((r) => r.map(cell).join(',')).join('\r\n') + '\r\n';
}

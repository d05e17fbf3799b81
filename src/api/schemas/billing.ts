// Shapes of billing (api.md §6): the account, the payment method of the built-in provider, usage and statements.
import { Type, type Static } from '@sinclair/typebox';
import { HttpDate, StringEnum } from './common.js';

const Money = (description: string) => Type.String({ pattern: '^\\d+\\.\\d{2}$', description: `${description} Decimal string in dollars, rounded half up to the cent.`, examples: ['50.00'] });
const ExactMoney = Type.String({ pattern: '^\\d+\\.\\d{6}$', description: 'The same amount to the micro-dollar, before rounding (what totals are summed from).', examples: ['0.075000'] });

export const PaymentMethodView = Type.Object(
  {
    type: StringEnum(['card', 'invoice'] as const),
    provider: Type.String({ description: "The payment provider that holds the method ('built-in')." }),
    last4: Type.Optional(Type.String()),
    expMonth: Type.Optional(Type.Integer()),
    expYear: Type.Optional(Type.Integer()),
    valid: Type.Boolean({ description: 'Whether it can pay now; a card is valid through the last day of its expiry month (UTC).' }),
  },
  { description: 'No card number is ever stored: the built-in provider keeps the last four digits and the expiry.' },
);
export type PaymentMethodView = Static<typeof PaymentMethodView>;

export const Billing = Type.Object({
  paymentMethod: Type.Union([PaymentMethodView, Type.Null()]),
  creditBalance: Money('Credit left: the initial credit less the charges since the account opened, never below 0.'),
  currency: Type.Literal('USD'),
  enabled: Type.Boolean({ description: 'Whether this install charges (ALLOTROPE_BILLING). Off: nothing is refused or charged; usage is still reported.' }),
  initialCredit: Money('Credit the account opened with (ALLOTROPE_BILLING_INITIAL_CREDIT at the time).'),
  charges: Money('Usage charged since the account opened.'),
  amountOwed: Money('Charges beyond the credit: what the payment method is invoiced for.'),
  accountOpenedAt: Type.Union([HttpDate, Type.Null()], { description: 'When charging started: the first billable action or billing request with billing on.' }),
});
export type Billing = Static<typeof Billing>;


export const SetPaymentMethod = Type.Object(
  {
    type: StringEnum(['card', 'invoice'] as const),
    last4: Type.Optional(Type.String({ description: 'Cards: the last four digits.' })),
    expMonth: Type.Optional(Type.Integer({ description: 'Cards: expiry month, 1-12.' })),
    expYear: Type.Optional(Type.Integer({ description: 'Cards: four-digit expiry year. The expiry must not be in the past (400 naming expYear).' })),
  },
  { additionalProperties: false, description: "The built-in provider's methods: `{\"type\":\"card\",\"last4\",\"expMonth\",\"expYear\"}` or `{\"type\":\"invoice\"}`. Replaces the current method." },
);

export const UsageQuery = Type.Object(
  {
    from: Type.Optional(Type.String({ description: 'Start, inclusive: 2026-12-01 or 2026-12-01T10:00:00Z (UTC). Default: the start of this month.' })),
    to: Type.Optional(Type.String({ description: 'End, exclusive. Default: now. Usage after now is never counted.' })),
    groupBy: Type.Optional(StringEnum(['database', 'environment'] as const, { default: 'database' })),
    format: Type.Optional(StringEnum(['json', 'csv'] as const, { description: 'csv: the same lines as text/csv (also chosen by `Accept: text/csv`).' })),
  },
  { additionalProperties: false },
);

export const StatementQuery = Type.Object(
  { format: Type.Optional(StringEnum(['json', 'csv'] as const, { description: 'csv: the lines as text/csv (also chosen by `Accept: text/csv`).' })) },
  { additionalProperties: false },
);

export const UsageLine = Type.Object({
  databaseId: Type.Union([Type.String(), Type.Null()], { description: 'Null when grouped by environment.' }),
  databaseName: Type.Union([Type.String(), Type.Null()]),
  environmentId: Type.String(),
  environmentLabel: Type.Union([Type.String(), Type.Null()]),
  plan: Type.Union([Type.String(), Type.Null()], { description: 'The plan in force (null for snapshots). A plan change splits a database into one line per plan.' }),
  kind: StringEnum(['running', 'paused', 'snapshots'] as const, {
    description: "running: the plan's pricePerHour per started minute. paused: storage only (the plan's storageGb at ALLOTROPE_BILLING_STORAGE_PRICE per GB-month; a failed database counts as paused). snapshots: GB-months stored at ALLOTROPE_BILLING_SNAPSHOT_PRICE. A month is 30 days; 1 GB is 2^30 bytes.",
  }),
  minutes: Type.Integer({ description: 'Started minutes (running, paused), counted from when the state began; a minute belongs to the period it starts in.' }),
  hours: Type.String({ description: 'minutes / 60, two decimals.' }),
  gbMonths: Type.String({ description: 'Snapshots: GB-months stored, six decimals.' }),
  amount: Money('This line.'),
  amountExact: ExactMoney,
});
export type UsageLine = Static<typeof UsageLine>;


const UsageTotals = Type.Object({
  running: Money('Compute.'),
  paused: Money('Storage of paused databases.'),
  snapshots: Money('Snapshots.'),
  amount: Money('Everything: rounded once from the exact sum, so line amounts may differ from it by rounding.'),
  amountExact: ExactMoney,
});

const reportFields = {
  from: HttpDate,
  to: HttpDate,
  groupBy: StringEnum(['database', 'environment'] as const),
  currency: Type.Literal('USD'),
  charged: Type.Boolean({ description: 'False with billing off: the amounts are showback, nothing is charged.' }),
  lines: Type.Array(UsageLine),
  totals: UsageTotals,
};

export const UsageReport = Type.Object(reportFields);
export type UsageReport = Static<typeof UsageReport>;

export const Statement = Type.Object({
  ...reportFields,
  month: Type.String({ examples: ['2026-12'] }),
  charges: Money('What the account is charged for this month: usage after the account opened (0 with billing off).'),
  creditApplied: Money('Credit drawn down by this month’s charges.'),
  amountDue: Money('Charges less the credit applied: invoiced to the payment method.'),
});
export type Statement = Static<typeof Statement>;


export const MonthParams = Type.Object({ month: Type.String({ description: 'yyyy-mm (UTC calendar month)', examples: ['2026-12'] }) });

// The billing account, usage reports and statements as the API shows them (api.md §6): the domain's
// objects with their dates written as HTTP dates. The amounts are already decimal strings (src/domain/billing.ts).
import type { BillingSummary, UsageReport } from '../../domain/billing.js';
import { httpDate, httpDateOrNull } from '../dates.js';
import type { Billing, PaymentMethodView } from '../schemas/billing.js';

/** The method's own fields (the built-in provider's: a card's last four digits and expiry), never a secret. */
function paymentMethodView({ stored, valid }: NonNullable<BillingSummary['paymentMethod']>): PaymentMethodView {
  if (stored.type === 'card') return { type: 'card', provider: stored.provider, last4: String(stored.last4), expMonth: Number(stored.expMonth), expYear: Number(stored.expYear), valid };
  return { type: 'invoice', provider: stored.provider, valid };
}

export function billingView(b: BillingSummary): Billing {
  return { ...b, paymentMethod: b.paymentMethod ? paymentMethodView(b.paymentMethod) : null, accountOpenedAt: httpDateOrNull(b.accountOpenedAt) };
}

/** A usage report or a statement (a report with the month's charges). */
export function reportView<T extends UsageReport>(r: T) {
  return { ...r, from: httpDate(r.from), to: httpDate(r.to) };
}

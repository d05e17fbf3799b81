// Payment providers: how an organization pays once its credit is spent. The built-in provider is the only
// implementation today; it keeps what a card or invoice arrangement needs to be judged valid (never a
// card number: the last four digits and the expiry only). A provider for a real payment service would
// tokenise the card with that service and check it there instead.
import { invalid } from '../errors.js';

/** What is stored (as JSON) for an organization's payment method. */
export interface StoredPaymentMethod {
  provider: string;
  type: string;
  [field: string]: unknown;
}

export type Validity = { valid: true } | { valid: false; reason: string };

export interface PaymentProvider {
  readonly id: string;
  /** The method a request body describes, ready to store; throws invalid(field) naming what is wrong. */
  parseMethod(input: Record<string, unknown>, now: Date): StoredPaymentMethod;
  /** Whether the method can pay at `now`, and why not. */
  validity(method: StoredPaymentMethod, now: Date): Validity;
  /** A few words naming the method in messages: `card ending 4242`. */
  describe(method: StoredPaymentMethod): string;
}

/** The first instant a card expiring in `expMonth`/`expYear` no longer pays: it is valid through the end of that month (UTC). */
function cardEnd(expMonth: number, expYear: number): number {
  return Date.UTC(expYear, expMonth, 1);
}

export const builtInProvider: PaymentProvider = {
  id: 'built-in',
  parseMethod(input, now) {
    const type = input.type;
    if (type === 'invoice') {
      for (const field of ['last4', 'expMonth', 'expYear']) if (input[field] !== undefined) throw invalid(field, `field '${field}' is for cards; an invoice takes only type`);
      return { provider: this.id, type: 'invoice' };
    }
    if (type !== 'card') throw invalid('type', `payment method type '${String(type)}' is not one of card, invoice`);
    const { last4, expMonth, expYear } = input;
    if (typeof last4 !== 'string' || !/^\d{4}$/.test(last4)) throw invalid('last4', 'last4 must be the last four digits of the card, e.g. "4242"');
    if (typeof expMonth !== 'number' || !Number.isInteger(expMonth) || expMonth < 1 || expMonth > 12) throw invalid('expMonth', 'expMonth must be a month number from 1 to 12');
    if (typeof expYear !== 'number' || !Number.isInteger(expYear) || expYear < 2000 || expYear > 9999) throw invalid('expYear', 'expYear must be a four-digit year');
    if (cardEnd(expMonth, expYear) <= now.getTime()) {
      throw invalid('expYear', `the card expired at the end of ${String(expMonth).padStart(2, '0')}/${expYear}; expMonth/expYear must not be in the past`);
    }
    return { provider: this.id, type: 'card', last4, expMonth, expYear };
  },
  validity(method, now) {
    if (method.type === 'invoice') return { valid: true };
    if (method.type === 'card' && typeof method.expMonth === 'number' && typeof method.expYear === 'number') {
      if (cardEnd(method.expMonth, method.expYear) > now.getTime()) return { valid: true };
      return { valid: false, reason: `its ${this.describe(method)} expired at the end of ${String(method.expMonth).padStart(2, '0')}/${method.expYear}` };
    }
    return { valid: false, reason: `its payment method of type '${method.type}' is not known to this server` };
  },
  describe(method) {
    return method.type === 'card' ? `card ending ${String(method.last4)}` : method.type;
  },
};

/** Providers by id; a stored method names the one that made it. */
export const PAYMENT_PROVIDERS: ReadonlyMap<string, PaymentProvider> = new Map([[builtInProvider.id, builtInProvider]]);

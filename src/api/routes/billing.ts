// Billing routes (api.md §6): the account, the payment method, usage (JSON or CSV) and monthly statements.
// Owners, admins and the billing role only; the billing role reaches nothing else (src/auth/policy.ts).
import type { FastifyReply, FastifyRequest } from 'fastify';
import { getBilling, monthlyStatement, setPaymentMethod, usageReport, type BillingDeps } from '../../domain/billing.js';
import type { ApiInstance, RouteContext } from '../types.js';
import { Billing, MonthParams, SetPaymentMethod, Statement, StatementQuery, UsageQuery, UsageReport } from '../schemas/billing.js';
import { ErrorBody, errorResponses } from '../schemas/common.js';
import { billingView, reportView, statementView, usageCsv } from '../views/billing.js';

function wantsCsv(request: FastifyRequest, format: string | undefined): boolean {
  if (format !== undefined) return format === 'csv';
  return /\btext\/csv\b/i.test(request.headers.accept ?? '');
}

/** JSON, or CSV when asked for; the OpenAPI lists both content types. */
function sendReport(request: FastifyRequest, reply: FastifyReply, report: UsageReport, format: string | undefined, fileName: string) {
  if (!wantsCsv(request, format)) return report;
  return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${fileName}"`).send(usageCsv(report));
}

const csvOrJson = (schema: unknown) => ({
  description: 'JSON by default; text/csv with `?format=csv` or `Accept: text/csv` (one row per line, then a total row).',
  content: { 'application/json': { schema }, 'text/csv': { schema: { type: 'string' } } },
});

export function billingRoutes(ctx: RouteContext) {
  const deps: BillingDeps = { db: ctx.store.db, clock: ctx.clock, billing: ctx.config.billing };
  return async (app: ApiInstance): Promise<void> => {
    const tags = ['billing'];
    app.get(
      '/organizations/billing',
      {
        schema: {
          tags,
          summary: 'The billing account: payment method, credit left, charges (owner, admin, billing)',
          description:
            'With billing on, a new organization gets ALLOTROPE_BILLING_INITIAL_CREDIT dollars of credit (default 50). No payment method is needed while credit is left; once it is spent, creating, cloning, creating from a snapshot, resuming or moving to a dearer plan answers 402 until a valid payment method (an unexpired card, or invoice) is set.',
          response: { 200: Billing, ...errorResponses(403) },
        },
      },
      async (request) => billingView(await getBilling(deps, request.caller!)),
    );
    app.put(
      '/organizations/billing/payment-method',
      {
        schema: {
          tags,
          summary: "Set the payment method with the built-in provider: a card with a future expiry, or invoice (owner, admin, billing)",
          body: SetPaymentMethod,
          response: { 200: Billing, ...errorResponses(403) },
        },
      },
      async (request) => billingView(await setPaymentMethod(deps, request.caller!, request.body as Record<string, unknown>)),
    );
    app.get(
      '/organizations/billing/usage',
      {
        schema: {
          tags,
          summary: 'Usage and its price per database (or environment), per plan and kind, with totals; also as CSV (owner, admin, billing)',
          description:
            'Derived from recorded state changes, so it is exact across control-plane restarts. Reported with billing off too (showback: `charged` is false). Amounts are decimal strings in USD.',
          querystring: UsageQuery,
          produces: ['application/json', 'text/csv'],
          response: { 200: csvOrJson(UsageReport), 400: ErrorBody, 401: ErrorBody, 403: ErrorBody },
        } as object,
      },
      async (request, reply) => {
        const query = request.query as { from?: string; to?: string; groupBy?: string; format?: string };
        const report = await usageReport(deps, request.caller!, query);
        return sendReport(request, reply, reportView(report), query.format, 'usage.csv');
      },
    );
    app.get(
      '/organizations/billing/statements/:month',
      {
        schema: {
          tags,
          summary: 'The statement of one calendar month (UTC): usage per database, credit applied and amount due; also as CSV (owner, admin, billing)',
          params: MonthParams,
          querystring: StatementQuery,
          produces: ['application/json', 'text/csv'],
          response: { 200: csvOrJson(Statement), 400: ErrorBody, 401: ErrorBody, 403: ErrorBody },
        } as object,
      },
      async (request, reply) => {
        const { month } = request.params as { month: string };
        const query = request.query as { format?: string };
        const statement = await monthlyStatement(deps, request.caller!, month);
        return sendReport(request, reply, statementView(statement), query.format, `statement-${month}.csv`);
      },
    );
  };
}

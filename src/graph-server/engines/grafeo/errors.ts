// Grafeo's errors as the Neo4j status codes drivers act on, and the errors the adapter raises itself.
import { CypherError } from '../../engine-api.js';

function gqlStatusOf(err: unknown): string | undefined {
  const e = err as { gqlStatus?: unknown; cause?: { message?: unknown } };
  if (typeof e?.gqlStatus === 'string') return e.gqlStatus;
  const m = /GQLSTATUS (\w{5})/.exec(String(e?.cause?.message ?? ''));
  return m?.[1];
}

/** A Grafeo error as the Neo4j status code drivers act on (they retry only `TransientError`s). */
export function toCypherError(err: unknown): CypherError {
  if (err instanceof CypherError) return err;
  const raw = err instanceof Error ? err.message : String(err);
  const message = raw
    .replace(/^(Query|Transaction|Database) error: /, '')
    .replace(/^GRAFEO-\w+: /, '')
    .replace(/^Invalid value: Constraint violation: /, '')
    .trim();
  const status = gqlStatusOf(err);
  const cls = status?.slice(0, 2);
  if (/Missing parameter/i.test(message)) return new CypherError('Neo.ClientError.Statement.ParameterMissing', message, '42N51');
  if (/unknown procedure/i.test(message)) return new CypherError('Neo.ClientError.Procedure.ProcedureNotFound', message, '42N08');
  if (/Failed to (open|read) CSV|Csv error/i.test(message)) return new CypherError('Neo.ClientError.Statement.ExternalResourceFailed', message, '42N53');
  // GQL's G class: graph-type and constraint violations (UNIQUE, DELETE of a node with edges).
  if (status?.startsWith('G')) return new CypherError('Neo.ClientError.Schema.ConstraintValidationFailed', message, status);
  if (status === '22012' || status === '22003' || status === '22015') {
    return new CypherError('Neo.ClientError.Statement.ArithmeticError', message, status);
  }
  switch (cls) {
    case '42':
      return new CypherError('Neo.ClientError.Statement.SyntaxError', message, status);
    case '22':
      return new CypherError(
        /type|cannot (compare|convert|add|multiply)|expected/i.test(message)
          ? 'Neo.ClientError.Statement.TypeError'
          : 'Neo.ClientError.Statement.ArgumentError',
        message,
        status,
      );
    case '23':
      return new CypherError('Neo.ClientError.Schema.ConstraintValidationFailed', message, status);
    case '40':
      return new CypherError('Neo.TransientError.Transaction.DeadlockDetected', message, status);
    case '0A':
      return new CypherError('Neo.ClientError.Statement.FeatureNotSupported', message, status);
    default:
      if (/conflict/i.test(message)) return new CypherError('Neo.TransientError.Transaction.DeadlockDetected', message, '40000');
      return new CypherError('Neo.DatabaseError.Statement.ExecutionFailed', message, status ?? '50N42');
  }
}

export function timedOut(timeoutMs: number): CypherError {
  return new CypherError(
    'Neo.ClientError.Transaction.TransactionTimedOut',
    `The transaction has been terminated: it ran longer than its timeout of ${timeoutMs} ms`,
    '25N05',
  );
}

export function forbidden(): CypherError {
  return new CypherError(
    'Neo.ClientError.Security.Forbidden',
    'Writing in read access mode not allowed. Attempted write to the database',
    '42NFF',
  );
}

// What an operation kind is: a named list of idempotent steps plus the state changes written in the
// same transaction as the operation's end. The engine runs the steps; kinds never touch leases.
import type { Kysely, Transaction } from 'kysely';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { Tables } from '../store/schema/index.js';
import type { OperationsTable } from '../store/schema/lifecycle.js';

export interface OperationRecord {
  id: string;
  organizationId: string;
  databaseId: string;
  operationType: string;
  params: Record<string, unknown>;
  /** 1 for the first claim; more means the step at `currentStep` is being re-run after a crash. */
  attempts: number;
  currentStep: number;
}

export interface StepContext {
  operation: OperationRecord;
  db: Kysely<Tables>;
  clock: Clock;
  logger: Logger;
  /** True when this step already started once before the server stopped (it is being re-run). */
  resumed: boolean;
  /** Aborted when the lease is lost or the engine stops; long steps should pass it on. */
  signal: AbortSignal;
}

export interface Step {
  name: string;
  /** Longer than the engine's default step timeout (big exports), or shorter. */
  timeoutMs?: number;
  /** Must be idempotent: running it again after it finished, or after a crash part-way, changes nothing. */
  run(ctx: StepContext): Promise<string | void>;
}

export interface FollowUp {
  operationType: string;
  description: string;
  params?: Record<string, unknown>;
}

export interface OperationKind {
  type: string;
  steps: Step[];
  /** Written in the transaction that marks the operation finished; may hand over to a follow-up operation. */
  onSuccess?(trx: Transaction<Tables>, ctx: StepContext): Promise<FollowUp | void>;
  /**
   * Runs before the failure is recorded, outside any transaction (it may talk to the runtime): settle what
   * the runtime holds so the database's state can agree with its processes. Its result reaches onFailure.
   */
  settle?(ctx: StepContext, error: OperationError): Promise<unknown>;
  /** Written in the transaction that marks the operation failed: leave the database in a state its process agrees with. */
  onFailure?(trx: Transaction<Tables>, ctx: StepContext, error: OperationError, settled: unknown): Promise<void>;
}

/** A failure whose message is written for the user (stored on the operation). */
export class OperationError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OperationError';
  }
}

export function toRecord(row: OperationsTable): OperationRecord {
  return {
    id: row.id,
    organizationId: row.organization_id,
    databaseId: row.database_id,
    operationType: row.operation_type,
    params: JSON.parse(row.params) as Record<string, unknown>,
    attempts: row.attempts,
    currentStep: row.current_step,
  };
}

import type { Kysely } from 'kysely';

// Placeholder until this migration's tables are written.
export async function up(_db: Kysely<unknown>): Promise<void> {}

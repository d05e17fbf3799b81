// What the store's errors mean, whichever dialect raised them.

/** Whether `err` is a unique-key violation: SQLite's `UNIQUE constraint failed`, PostgreSQL's 23505. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | null;
  return e?.code === '23505' || /^SQLITE_CONSTRAINT_(UNIQUE|PRIMARYKEY)$/.test(e?.code ?? '') || /UNIQUE constraint failed/.test(String(e?.message));
}

// What the store's errors mean, whichever dialect raised them.

/** Whether `err` is a unique-key violation: SQLite's `UNIQUE constraint failed`, PostgreSQL's 23505. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | null;
  return e?.code === '23505' || /^SQLITE_CONSTRAINT_(UNIQUE|PRIMARYKEY)$/.test(e?.code ?? '') || /UNIQUE constraint failed/.test(String(e?.message));
}

/**
 * Whether `err` says the store could not take the request now, through no fault of the request: SQLite busy or
 * locked past its busy timeout (another process held the write lock), PostgreSQL's lock timeout (55P03),
 * deadlock (40P01) or serialization failure (40001), or a server refusing connections for now (57P03, 53300).
 */
export function isStoreBusy(err: unknown): boolean {
  const e = err as { code?: string; errcode?: string; message?: string } | null;
  const code = e?.code ?? '';
  return (
    /^SQLITE_(BUSY|LOCKED)/.test(code) ||
    /database is (locked|busy)/.test(String(e?.message)) ||
    ['55P03', '40P01', '40001', '57P03', '53300'].includes(code)
  );
}

// Entity ids: UUIDs written as 32 lowercase hex digits, no dashes (api.md §1).
import { randomUUID } from 'node:crypto';

export function newId(): string {
  return randomUUID().replaceAll('-', '');
}

const DASHED = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const PLAIN = /^[0-9a-f]{32}$/;

/** The canonical form of an id given by a client (dashed or not, any case), or null if it is not one. */
export function normalizeId(input: string): string | null {
  const lower = input.trim().toLowerCase();
  if (PLAIN.test(lower)) return lower;
  if (DASHED.test(lower)) return lower.replaceAll('-', '');
  return null;
}

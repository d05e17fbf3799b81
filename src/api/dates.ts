// Dates on the wire are RFC 7231 IMF-fixdate strings: `Sun, 06 Nov 1994 08:49:37 GMT`.
export function httpDate(date: Date): string {
  return date.toUTCString();
}

export function httpDateOrNull(date: Date | null | undefined): string | null {
  return date ? date.toUTCString() : null;
}

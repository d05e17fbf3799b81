// docs/errors.md is the error catalogue: every error kind with its status, every framework message, and
// every message family thrown by the foundation's code must be listed there (after Fastify's own
// test/internals/errors.test.js against docs/Reference/Errors.md).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { FRAMEWORK_ERRORS, PARSER_ERRORS, STATUS_BY_KIND } from '../src/api/errors.js';

// The repository root, whether this runs from test/ (tsx) or from dist/test/ (compiled).
const up = new URL('../', import.meta.url);
const root = up.pathname.endsWith('/dist/') ? new URL('../', up) : up;
const doc = readFileSync(new URL('docs/errors.md', root), 'utf8');

/** Source files whose thrown messages the catalogue must cover. Other areas add theirs here. */
const SOURCES = [
  'src/domain/environments.ts',
  'src/domain/api-clients.ts',
  'src/domain/organizations.ts',
  'src/domain/plain-text.ts',
  'src/auth/policy.ts',
  'src/auth/client-credentials.ts',
  'src/auth/bearer.ts',
  'src/auth/tokens.ts',
  'src/api/idempotency.ts',
  'src/api/routes/auth.ts',
  'src/domain/billing.ts',
  'src/domain/payment-providers.ts',
  'src/domain/switch-url.ts',
];

/** A thrown template as a pattern: `environment '${id}' does not exist` matches the doc's `environment '<id>' does not exist`. */
function pattern(template: string): RegExp {
  const parts = template.split(/\$\{[^}]*\}/).map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(parts.join('.+?'));
}

test('every error kind is documented with its status', () => {
  for (const [kind, status] of Object.entries(STATUS_BY_KIND)) {
    assert.match(doc, new RegExp(`\\| \`${kind}\` \\| ${status} \\|`), `kind ${kind}`);
  }
  assert.match(doc, /internal error <request id>/);
});

test('every framework error message is documented', () => {
  for (const [code, [status, message]] of Object.entries(FRAMEWORK_ERRORS)) {
    assert.ok(doc.includes(`\`${message}\` (${status})`), `${code}: ${message}`);
  }
  for (const [code, [status, message]] of Object.entries(PARSER_ERRORS)) {
    assert.ok(doc.includes(`\`${message}\` (${status})`), `${code}: ${message}`);
  }
});

test('every message family thrown by the foundation is documented', () => {
  const call = /\b(?:invalid|notFound|conflict|forbidden|unauthorized|paymentRequired)\(\s*(?:'[^']*'\s*,\s*)?(`(?:[^`\\]|\\.)*`|'(?:[^'\\]|\\.)*')/g;
  const tokenReason = /new InvalidTokenError\(\s*'([^']*)'/g;
  let families = 0;
  for (const file of SOURCES) {
    const source = readFileSync(new URL(file, root), 'utf8');
    for (const m of source.matchAll(call)) {
      const message = m[1]!.slice(1, -1);
      families++;
      assert.match(doc, pattern(message), `${file}: ${message}`);
    }
    for (const m of source.matchAll(tokenReason)) {
      families++;
      assert.ok(doc.includes(`\`${m[1]}\``), `${file}: ${m[1]}`);
    }
  }
  assert.ok(families >= 25, `found ${families} message families`);
});

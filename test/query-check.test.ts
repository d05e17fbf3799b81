// Neo4j's own query checks in front of the engine (src/graph-server/query-check, issue 13).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { repoRoot } from './helpers/cli.js';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import ts from 'typescript';
import { CypherError } from '../src/graph-server/engine-api.js';
import { createQueryChecker } from '../src/graph-server/query-check/index.js';
import type { QueryChecker } from '../src/graph-server/query-check/index.js';
import { isIgnoredError, neo4jErrorMessage, notificationFor, verdictFor } from '../src/graph-server/query-check/verdict.js';
import { LruCache } from '../src/graph-server/query-check/lru.js';
import { waitFor } from './helpers/wait-for.js';

const ROOT = repoRoot;

/** A long CREATE script the front-end needs about a second or more to check. */
function slowScript(movies: number, tail = ''): string {
  const lines: string[] = [];
  for (let m = 0; m < movies; m++) {
    lines.push(`CREATE (m${m}:Movie {title: 'Movie ${m}'})`);
    for (let p = 0; p < 4; p++) lines.push(`CREATE (p${m}_${p}:Person {name: 'P ${m} ${p}'})-[:ACTED_IN]->(m${m})`);
  }
  return lines.join('\n') + tail;
}

function captureLogger() {
  const warnings: { fields: Record<string, unknown>; msg: string }[] = [];
  return { warnings, logger: { warn: (fields: Record<string, unknown>, msg: string) => void warnings.push({ fields, msg }) } };
}

async function refusal(checker: QueryChecker, query: string): Promise<CypherError> {
  try {
    await checker.check(query);
  } catch (err) {
    assert.ok(err instanceof CypherError, `expected a CypherError, got ${String(err)}`);
    return err;
  }
  assert.fail(`expected ${JSON.stringify(query)} to be refused`);
}

describe('query checker with the default budget', () => {
  let checker: QueryChecker;
  before(async () => {
    // A generous budget: these tests are about the verdicts, not timing on a shared CI machine.
    checker = createQueryChecker({ budgetMs: 30_000 });
    await checker.ready();
  });
  after(async () => {
    await checker.close();
  });

  const refused: { query: string; message: RegExp; gqlStatus: string; position: { offset: number; line: number; column: number } }[] = [
    { query: 'RETURN 123.4 AND false', message: /^Type mismatch: expected Boolean but was Float/, gqlStatus: '42001', position: { offset: 7, line: 1, column: 8 } },
    { query: 'CREATE ()-->()', message: /^Exactly one relationship type must be specified for CREATE/, gqlStatus: '42001', position: { offset: 9, line: 1, column: 10 } },
    { query: 'CREATE (b {name: missing})', message: /^Variable `missing` not defined/, gqlStatus: '42N62', position: { offset: 17, line: 1, column: 18 } },
    { query: 'MATCH (a) WITH a.x AS x RETURN a', message: /^Variable `a` not defined/, gqlStatus: '42N62', position: { offset: 31, line: 1, column: 32 } },
    { query: 'RETURN 1 +', message: /^Invalid input '': expected an expression/, gqlStatus: '42001', position: { offset: 10, line: 1, column: 11 } },
    { query: 'MATCH (n:Person)', message: /^Query cannot conclude with MATCH/, gqlStatus: '42001', position: { offset: 16, line: 1, column: 17 } },
    { query: 'MATCH (n) RETURN exists(n.name)', message: /exists\(variable\.property\)` is no longer supported/, gqlStatus: '42001', position: { offset: 17, line: 1, column: 18 } },
    { query: 'RETURN substring("abc")', message: /^Insufficient parameters for function 'substring'/, gqlStatus: '42001', position: { offset: 7, line: 1, column: 8 } },
    { query: 'MATCH (n)\nWHERE n.x = 1\nRETURN m', message: /^Variable `m` not defined/, gqlStatus: '42N62', position: { offset: 31, line: 3, column: 8 } },
  ];
  for (const c of refused) {
    it(`refuses ${JSON.stringify(c.query)} as a SyntaxError with its position`, async () => {
      const err = await refusal(checker, c.query);
      assert.equal(err.code, 'Neo.ClientError.Statement.SyntaxError');
      assert.equal(err.gqlStatus, c.gqlStatus);
      assert.deepEqual(err.position, c.position);
      assert.match(err.message, c.message);
      assert.ok(err.message.includes(`(line ${c.position.line}, column ${c.position.column} (offset: ${c.position.offset}))`), err.message);
    });
  }

  it("quotes the offending line with a caret under the mistake, as Neo4j's message does", async () => {
    const err = await refusal(checker, 'MATCH (n)\nWHERE n.x = 1\nRETURN m');
    assert.equal(err.message, 'Variable `m` not defined (line 3, column 8 (offset: 31))\n"RETURN m"\n        ^');
  });

  it('does not refuse parameters, nor functions and procedures only the engine knows', async () => {
    for (const query of [
      'RETURN $x AS x',
      'MATCH (n {name: $name}) RETURN n',
      'CALL grafeo.pagerank() YIELD node_id, score RETURN count(*) AS c',
      'CALL grafeo.procedures()',
      'RETURN grafeo.something(1) AS x',
      "RETURN date.truncate('day', date()) AS d",
    ]) {
      const { notifications } = await checker.check(query);
      assert.deepEqual(notifications, [], query);
    }
  });

  it('answers the second send of a query from the cache', async () => {
    const query = 'MATCH (n:CacheProbe) WHERE n.x > 1 RETURN n.y AS y';
    const before = checker.stats();
    await checker.check(query);
    const mid = checker.stats();
    assert.equal(mid.cacheHits, before.cacheHits);
    const t = performance.now();
    await checker.check(query);
    const cachedMs = performance.now() - t;
    const afterStats = checker.stats();
    assert.equal(afterStats.cacheHits, mid.cacheHits + 1);
    assert.equal(afterStats.checked, before.checked + 2);
    assert.ok(cachedMs < 5, `a cached check took ${cachedMs} ms`);
  });

  it('refuses from the cache too, and counts every refusal', async () => {
    const before = checker.stats();
    await refusal(checker, 'RETURN nope_var');
    await refusal(checker, 'RETURN nope_var');
    const afterStats = checker.stats();
    assert.equal(afterStats.refused, before.refused + 2);
    assert.equal(afterStats.cacheHits, before.cacheHits + 1);
  });

  it("turns Neo4j's warnings into Neo4j notifications", async () => {
    const cartesian = (await checker.check('MATCH (a), (b) RETURN a, b')).notifications;
    assert.equal(cartesian.length, 1);
    assert.deepEqual(
      { ...cartesian[0], description: undefined },
      {
        code: 'Neo.ClientNotification.Statement.CartesianProduct',
        title: 'This query builds a cartesian product between disconnected patterns.',
        description: undefined,
        severity: 'INFORMATION',
        category: 'PERFORMANCE',
        gqlStatus: '03N90',
        position: { offset: 0, line: 1, column: 1 },
      },
    );
    assert.match(cartesian[0]!.description, /cartesian product between all those parts.*\(identifier is: \(b\)\)$/);

    const deprecated = (await checker.check('MATCH (n) RETURN id(n) AS i')).notifications;
    assert.equal(deprecated.length, 1);
    assert.equal(deprecated[0]!.code, 'Neo.ClientNotification.Statement.FeatureDeprecationWarning');
    assert.equal(deprecated[0]!.category, 'DEPRECATION');
    assert.equal(deprecated[0]!.gqlStatus, '01N01');
    assert.deepEqual(deprecated[0]!.position, { offset: 17, line: 1, column: 18 });

    const unbounded = (await checker.check('MATCH p = shortestPath((a)-[*]->(b)) RETURN p')).notifications;
    assert.deepEqual(
      unbounded.map((n) => [n.code, n.gqlStatus]),
      [['Neo.ClientNotification.Statement.UnboundedVariableLengthPattern', '03N91']],
    );

    const shadowing = (await checker.check('MATCH (a) CALL () { MATCH (a) RETURN a AS b } RETURN b')).notifications;
    assert.deepEqual(
      shadowing.map((n) => [n.code, n.gqlStatus, n.category]),
      [['Neo.ClientNotification.Statement.SubqueryVariableShadowing', '03N60', 'GENERIC']],
    );
  });

  it('gives each caller its own copy of cached notifications', async () => {
    const first = await checker.check('MATCH (a), (b) RETURN a, b');
    first.notifications.length = 0;
    const second = await checker.check('MATCH (a), (b) RETURN a, b');
    assert.equal(second.notifications.length, 1);
  });
});

describe('query checker time budget', () => {
  it('never runs a short query unchecked: a cold checker is waited for, and so is a slow check', async () => {
    // Not waiting for ready(): the worker is still loading Neo4j's front-end, and the budget is 1 ms.
    const checker = createQueryChecker({ budgetMs: 1 });
    try {
      for (const query of ['RETURN 123.4 AND false', 'CREATE ()-->()']) {
        await assert.rejects(checker.check(query), (e: CypherError) => {
          assert.equal(e.code, 'Neo.ClientError.Statement.SyntaxError');
          assert.match(e.message, /\(line 1, column \d+ \(offset: \d+\)\)/);
          return true;
        });
      }
      assert.equal(checker.stats().overBudget, 0);
    } finally {
      await checker.close();
    }
  });

  it('fails a query with a transient error when the checker cannot start in time, instead of running it', async () => {
    const checker = createQueryChecker({ budgetMs: 1, coldWaitMs: 1 });
    try {
      await assert.rejects(checker.check('RETURN 1 AS cold'), (e: CypherError) => e.code === 'Neo.TransientError.General.DatabaseUnavailable' && /not run/.test(e.message));
    } finally {
      await checker.close();
    }
  });

  it('lets the engine decide a query over budget, counts and logs it once, then caches the late result', async () => {
    const { warnings, logger } = captureLogger();
    const checker = createQueryChecker({ budgetMs: 1, logger, alwaysWaitChars: 100 });
    try {
      await checker.ready();
      // Invalid, and far too slow to check in 1 ms: not refused now.
      const query = slowScript(3, '\nRETURN undefinedVariable');
      assert.deepEqual(await checker.check(query), { notifications: [] });
      assert.deepEqual(await checker.check(query), { notifications: [] });
      const stats = checker.stats();
      assert.equal(stats.overBudget, 2);
      assert.equal(stats.refused, 0);
      assert.equal(warnings.filter((w) => /exceeded its budget/.test(w.msg)).length, 1);
      const logged = warnings[0]!.fields;
      assert.equal(logged.queryLength, query.length);
      assert.equal(JSON.stringify(logged).includes('undefinedVariable'), false, 'the query text itself is not logged');
      // The check finished in the background: the next send is refused from the cache.
      const err = await waitFor(
        async () => {
          try {
            await checker.check(query);
            return undefined;
          } catch (e) {
            return e as CypherError;
          }
        },
        { timeoutMs: 20_000, what: 'the late verdict to be cached' },
      );
      assert.equal(err.code, 'Neo.ClientError.Statement.SyntaxError');
      assert.match(err.message, /^Variable `undefinedVariable` not defined/);
      // The refusal above may have come from joining the check still in flight (a loaded machine); once the
      // verdict is known, the next send is answered from the cache.
      await assert.rejects(checker.check(query), /^Error: Variable `undefinedVariable` not defined|Variable `undefinedVariable` not defined/);
      assert.ok(checker.stats().cacheHits >= 1);
      assert.equal(warnings.filter((w) => /exceeded its budget/.test(w.msg)).length, 1);
    } finally {
      await checker.close();
    }
  });

  it('does not wait for long query texts, and does not check very long ones at all', async () => {
    const { warnings, logger } = captureLogger();
    const checker = createQueryChecker({ budgetMs: 30_000, maxWaitChars: 100, maxCheckChars: 400, logger });
    try {
      await checker.ready();
      const medium = `RETURN ${'1 + '.repeat(40)}nope AS x`; // 100 < length <= 400
      assert.ok(medium.length > 100 && medium.length <= 400);
      const t = performance.now();
      assert.deepEqual(await checker.check(medium), { notifications: [] });
      assert.ok(performance.now() - t < 50, 'a long text is not waited for');
      await waitFor(async () => (await checker.check(medium).then(() => false, () => true)), { timeoutMs: 20_000, what: 'the background verdict' });

      const long = `RETURN ${'1 + '.repeat(120)}nope AS x`;
      assert.deepEqual(await checker.check(long), { notifications: [] });
      assert.deepEqual(await checker.check(long), { notifications: [] });
      assert.equal(warnings.filter((w) => /too long to check/.test(w.msg)).length, 1);
    } finally {
      await checker.close();
    }
  });

  it('abandons a check that runs past maxCheckMs, replaces the worker and keeps checking', async () => {
    const { warnings, logger } = captureLogger();
    // The ceiling leaves room for a fresh worker's first (cold) check on a loaded CI machine;
    // the script needs many seconds.
    const checker = createQueryChecker({ budgetMs: 30_000, maxCheckMs: 2_000, maxWaitChars: Infinity, maxCheckChars: Infinity, logger });
    try {
      await checker.ready();
      const slow = slowScript(40, '\nRETURN undefinedVariable');
      const t = performance.now();
      assert.deepEqual(await checker.check(slow), { notifications: [] });
      assert.ok(performance.now() - t < 10_000);
      assert.equal(checker.stats().overBudget, 1);
      assert.ok(warnings.some((w) => w.fields.reason === 'too-slow'));
      // Remembered as unchecked: not re-checked (and not refused) on the next send.
      assert.deepEqual(await checker.check(slow), { notifications: [] });
      // A fresh worker answers the next query.
      const err = await refusal(checker, 'RETURN 123.4 AND false');
      assert.equal(err.code, 'Neo.ClientError.Statement.SyntaxError');
    } finally {
      await checker.close();
    }
  });

  it('checks nothing with budget 0', async () => {
    const checker = createQueryChecker({ budgetMs: 0 });
    assert.deepEqual(await checker.check('RETURN 123.4 AND false'), { notifications: [] });
    assert.deepEqual(checker.stats(), { checked: 0, cacheHits: 0, overBudget: 0, refused: 0, workers: 0 });
    await checker.close();
  });

  it('stops idle workers and restarts them for the next new query, keeping the cache', async () => {
    const checker = createQueryChecker({ budgetMs: 30_000, idleStopMs: 300 });
    try {
      await checker.ready();
      assert.equal(checker.stats().workers, 1);
      await refusal(checker, 'RETURN idle_var');
      await waitFor(() => checker.stats().workers === 0, { what: 'the idle worker to stop' });
      // Cached verdicts need no worker.
      await refusal(checker, 'RETURN idle_var');
      assert.equal(checker.stats().workers, 0);
      // A new query restarts one.
      const err = await refusal(checker, 'RETURN other_idle_var');
      assert.match(err.message, /^Variable `other_idle_var` not defined/);
      assert.equal(checker.stats().workers, 1);
    } finally {
      await checker.close();
    }
  });

  it('forgets the least recently used query texts beyond cacheSize', async () => {
    const checker = createQueryChecker({ budgetMs: 30_000, cacheSize: 2 });
    try {
      await checker.ready();
      await checker.check('RETURN 1 AS a');
      await checker.check('RETURN 2 AS b');
      await checker.check('RETURN 1 AS a'); // hit; now 'b' is the oldest
      await checker.check('RETURN 3 AS c'); // evicts 'b'
      await checker.check('RETURN 1 AS a'); // hit
      await checker.check('RETURN 2 AS b'); // miss
      assert.equal(checker.stats().cacheHits, 2);
    } finally {
      await checker.close();
    }
  });

  it('refuses invalid options', () => {
    assert.throws(() => createQueryChecker({ budgetMs: -1 }), RangeError);
    assert.throws(() => createQueryChecker({ workers: 3 }), RangeError);
    assert.throws(() => new LruCache(0), RangeError);
  });
});

describe('query check verdicts', () => {
  it('formats the message as Neo4j does', () => {
    assert.equal(
      neo4jErrorMessage('MATCH (n) RETURN m', 'Variable `m` not defined', { offset: 17, line: 1, column: 18 }),
      'Variable `m` not defined (line 1, column 18 (offset: 17))\n"MATCH (n) RETURN m"\n                  ^',
    );
  });

  it('ignores parameter and unknown-callable diagnostics, and names the schema can add', () => {
    assert.equal(isIgnoredError('Parameter $x is not defined.'), true);
    assert.equal(isIgnoredError("Function foo.bar is not present in the database. Make sure you didn't misspell it"), true);
    assert.equal(isIgnoredError('Procedure foo.bar is not present in the database. Make sure'), true);
    assert.equal(isIgnoredError('Variable `x` not defined'), false);
    assert.equal(isIgnoredError("Too many parameters for function 'grafeo.f'"), false);
    assert.equal(isIgnoredError("Too many parameters for function 'grafeo.f'", { functions: ['grafeo.f'] }), true);
  });

  it('refuses with the first error in the text and keeps warnings otherwise', () => {
    const v = verdictFor('RETURN a, b', [
      { severity: 'error', message: 'Variable `b` not defined', offset: 10, line: 1, column: 11 },
      { severity: 'error', message: 'Variable `a` not defined', offset: 7, line: 1, column: 8 },
    ]);
    assert.equal(v.kind, 'refuse');
    assert.equal(v.kind === 'refuse' && v.refusal.position.offset, 7);
    const ok = verdictFor('RETURN $p', [
      { severity: 'error', message: 'Parameter $p is not defined.', offset: 7, line: 1, column: 8 },
      { severity: 'warning', message: 'Something new and odd', offset: 0, line: 1, column: 1 },
    ]);
    assert.equal(ok.kind, 'accept');
    assert.deepEqual(ok.kind === 'accept' && ok.notifications.map((n) => [n.code, n.gqlStatus]), [['Neo.ClientNotification.Statement.UnknownWarning', '01N42']]);
  });

  it('tells deprecations with and without a replacement apart', () => {
    const base = { severity: 'warning' as const, offset: 0, line: 1, column: 1 };
    assert.equal(notificationFor({ ...base, message: "The query used a deprecated function. ('id' has been replaced by 'elementId')" }).gqlStatus, '01N01');
    assert.equal(notificationFor({ ...base, message: 'The query used a deprecated procedure.' }).gqlStatus, '01N02');
  });
});

describe('query checker compiled to JavaScript', () => {
  it('starts its worker from the compiled .js files', () => {
    // Transpile the checker and what it imports into a temp tree that resolves the project's node_modules.
    const dir = mkdtempSync(join(tmpdir(), 'query-check-js-'));
    try {
      const files = ['src/worker-thread.ts', 'src/graph-server/engine-api.ts', 'src/graph-server/values.ts', 'src/net/ndjson.ts', ...readdirSync(join(ROOT, 'src/graph-server/query-check')).map((f) => `src/graph-server/query-check/${f}`)];
      for (const file of files.filter((f) => f.endsWith('.ts'))) {
        const out = ts.transpileModule(readFileSync(join(ROOT, file), 'utf8'), {
          compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
          fileName: file,
        });
        const target = join(dir, file.replace(/\.ts$/, '.js'));
        mkdirSync(dirname(target), { recursive: true });
        writeFileSync(target, out.outputText);
      }
      writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
      symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
      const script = `
        import { createQueryChecker } from './src/graph-server/query-check/index.js';
        const c = createQueryChecker({ budgetMs: 30000 });
        await c.ready();
        let code = null;
        try { await c.check('RETURN 123.4 AND false'); } catch (e) { code = e.code; }
        const ok = await c.check('MATCH (a), (b) RETURN a, b');
        console.log(JSON.stringify({ code, notifications: ok.notifications.map((n) => n.gqlStatus) }));
        await c.close();`;
      writeFileSync(join(dir, 'probe.mjs'), script);
      const r = spawnSync(process.execPath, ['probe.mjs'], { cwd: dir, encoding: 'utf8', timeout: 60_000, execArgv: [] } as never);
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout.trim()), { code: 'Neo.ClientError.Statement.SyntaxError', notifications: ['03N90'] });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// No false refusals: a corpus of valid Cypher that the engine runs must all pass Neo4j's checks.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import grafeo from '@grafeo-db/js';
import { createQueryChecker } from '../src/graph-server/query-check/index.js';
import type { QueryChecker } from '../src/graph-server/query-check/index.js';
import { CORPUS_PARAMS, CORPUS_SEED, VALID_QUERIES } from '../bench/query-check.js';

const { GrafeoDB } = grafeo;

describe('valid query corpus', () => {
  let checker: QueryChecker;
  before(async () => {
    checker = createQueryChecker({ budgetMs: 300_000, workers: 2, maxQueue: 1000 });
    await checker.ready();
  });
  after(async () => {
    await checker.close();
  });

  it('has at least 200 distinct queries', () => {
    assert.ok(new Set(VALID_QUERIES).size >= 200, `only ${new Set(VALID_QUERIES).size} queries`);
    assert.equal(new Set(VALID_QUERIES).size, VALID_QUERIES.length, 'no duplicates');
  });

  it('runs every query on the engine, in order, on the seed graph', async () => {
    const db = GrafeoDB.create();
    try {
      await db.executeCypher(CORPUS_SEED);
      const failures: string[] = [];
      for (const query of VALID_QUERIES) {
        try {
          await db.executeCypher(query, CORPUS_PARAMS);
        } catch (err) {
          failures.push(`${query}: ${(err as Error).message.split('\n')[0]}`);
        }
      }
      assert.deepEqual(failures, []);
    } finally {
      db.close();
    }
  });

  it('refuses none of them and answers each again from the cache', async () => {
    const refused: string[] = [];
    // Two workers: check two queries at a time.
    const results = await Promise.all(
      VALID_QUERIES.map((query) =>
        checker.check(query).then(
          () => undefined,
          (err: Error) => refused.push(`${query}: ${err.message}`),
        ),
      ),
    );
    assert.equal(results.length, VALID_QUERIES.length);
    assert.deepEqual(refused, []);
    const before = checker.stats();
    assert.equal(before.overBudget, 0);
    for (const query of VALID_QUERIES) await checker.check(query);
    assert.equal(checker.stats().cacheHits, before.cacheHits + VALID_QUERIES.length);
  });
});

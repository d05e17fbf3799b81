// The Neo4j script loader sends an export batch's literal list as a parameter (Neo4j parses large literals
// slowly): the list read back must be exactly the values the exporter wrote, and anything else is left as text.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cypherLiteral } from '../src/graph-server/engines/grafeo/cypher-dump.js';
import { toDriver } from '../src/graph-server/engines/neo4j/driver-values.js';
import { unwindLiteralAsParameter } from '../src/graph-server/engines/neo4j/literal-parameters.js';
import { CypherDate, CypherDateTime, CypherDuration, CypherLocalDateTime, CypherLocalTime, CypherPoint, CypherTime, type Value } from '../src/graph-server/values.js';

const VALUES: Value[] = [
  1n, -9223372036854775808n, 9223372036854775807n, 1.0, -0, 5e-324, 1.7976931348623157e308, 1e300, NaN, Infinity, -Infinity,
  "it's \"quoted\"\n\t\\ back", 'Grüße 🌍', '', true, false, [], [1n, 2n], [0.5, -0], ['a', 'b'],
  new CypherDate(-365243219162n), new CypherDate(365241780471n), new CypherLocalTime(86_399_999_999_999n), new CypherTime(11_045_123_456_789n, 5400n),
  new CypherLocalDateTime(1_704_164_645n, 175_857_897n), new CypherDateTime(1_704_164_645n, 123_456_789n, null, 'Europe/London'),
  new CypherDateTime(1_667_089_800n, 1n, null, 'Europe/London'), new CypherDateTime(1_719_810_000n, 1n, -18000n, null),
  new CypherDuration(-14n, -35n, -123456n, 789n), new CypherDuration(0n, 0n, 0n, 1n),
  new CypherPoint(7203n, 1.5, -0, null), new CypherPoint(4979n, 1, 2, 3), { a: 1n, 'odd key`': [true] },
];

describe('literal lists as parameters', () => {
  it('reads back exactly what the exporter wrote, as driver values', () => {
    const statement = `UNWIND [\n${VALUES.map((v) => `{_id: 1, properties: {v: ${cypherLiteral(v)}}}`).join(',\n')}\n] AS row\nCREATE (n {id: row._id}) SET n += row.properties`;
    const fast = unwindLiteralAsParameter(statement);
    assert.ok(fast);
    assert.equal(fast.statement, 'UNWIND $rows AS row\nCREATE (n {id: row._id}) SET n += row.properties');
    const rows = fast.parameters.rows as { properties: { v: unknown } }[];
    assert.equal(rows.length, VALUES.length);
    VALUES.forEach((v, i) => {
      const got = rows[i]!.properties.v;
      if (typeof v === 'number') assert.ok(Object.is(got, v), `${v}: ${String(got)}`);
      else assert.deepEqual(got, toDriver(v), cypherLiteral(v));
    });
  });

  it('leaves anything but plain literals as text', () => {
    for (const statement of [
      'UNWIND [1 + 2] AS x CREATE ({x: x})',
      'UNWIND [x] AS y RETURN y',
      "UNWIND [datetime('2024-01-02T03:04:05[Europe/London]')] AS t CREATE ({t: t})",
      "UNWIND [date({year: 2024})] AS d CREATE ({d: d})",
      'UNWIND [99999999999999999999] AS n CREATE ({n: n})',
      'UNWIND range(1, 3) AS i CREATE ({i: i})',
      'CREATE (:A {v: [1, 2]})',
      'UNWIND [1, 2] RETURN 1',
    ]) {
      assert.equal(unwindLiteralAsParameter(statement), null, statement);
    }
  });
});

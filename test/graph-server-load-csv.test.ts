// LOAD CSV reads only the database's import directory: the attack of issue 16 (a read-only database user
// read the control plane's signing key with `LOAD CSV FROM '<data dir>/keys/…'`) against a real
// graph-server process, over Bolt with neo4j-driver and over the Query API.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import neo4j, { type Driver } from 'neo4j-driver';
import { confineLoadCsv, resolveLoadCsvUrl } from '../src/graph-server/engines/grafeo/load-csv.js';
import { startServer, stopServer, writeUsers, type Running } from './helpers/graph-server-process.js';

const SECRET = 'top-secret-signing-key-material';

describe('LOAD CSV confinement (unit)', () => {
  let root: string;
  let importDir: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'allotrope-loadcsv-unit-'));
    importDir = join(root, 'import');
    mkdirSync(join(importDir, 'sub'), { recursive: true });
    writeFileSync(join(importDir, 'people.csv'), 'name\nAda\n');
    writeFileSync(join(importDir, 'sub', 'x y.csv'), 'a\n1\n');
    writeFileSync(join(root, 'secret.txt'), SECRET);
    symlinkSync(join(root, 'secret.txt'), join(importDir, 'link.csv'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test('a file:/// URL names a file in the import directory', () => {
    assert.equal(resolveLoadCsvUrl('file:///people.csv', importDir), join(importDir, 'people.csv'));
    assert.equal(resolveLoadCsvUrl('file:///sub/x%20y.csv', importDir), join(importDir, 'sub', 'x y.csv'));
    assert.equal(resolveLoadCsvUrl('file://localhost/people.csv', importDir), join(importDir, 'people.csv'));
  });

  test('refuses bare paths, other schemes, escapes, symlinks out, directories and a missing import dir', () => {
    const refused: [string, RegExp][] = [
      ['/etc/passwd', /Invalid URL/],
      [join(root, 'secret.txt'), /Invalid URL/],
      ['http://127.0.0.1/x.csv', /http URLs are not/],
      ['https://example.com/x.csv', /https URLs are not/],
      ['ftp://example.com/x.csv', /ftp URLs are not/],
      ['file:///../secret.txt', /no such file|leaves the import directory/],
      ['file:///sub/../../secret.txt', /no such file|leaves the import directory/],
      ['file:///%2e%2e/secret.txt', /no such file|leaves the import directory/],
      ['file:///link.csv', /leaves the import directory/],
      ['file:///sub', /not a regular file/],
      ['file:///etc/passwd', /no such file/],
      ['file://evil.example/people.csv', /names no host/],
      ['file:///people.csv%00', /NUL/],
    ];
    for (const [url, why] of refused) {
      assert.throws(() => resolveLoadCsvUrl(url, importDir), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'Neo.ClientError.Statement.ExternalResourceFailed', url);
        assert.match(err.message, why, url);
        if (!url.includes(root)) assert.doesNotMatch(err.message, new RegExp(root), `${url}: the message names no host path`);
        return true;
      });
    }
    assert.throws(() => resolveLoadCsvUrl('file:///people.csv', null), /file URLs are not allowed here/);
  });

  test('rewrites every LOAD CSV clause the engine would see, and leaves strings and comments alone', () => {
    const people = join(importDir, 'people.csv');
    const cases: [string, string][] = [
      ["LOAD CSV FROM 'file:///people.csv' AS r RETURN r", `LOAD CSV FROM '${people}' AS r RETURN r`],
      ['load  csv with\theaders from "file:///people.csv" AS r RETURN r', `load  csv with\theaders from '${people}' AS r RETURN r`],
      ["LOAD/*x*/CSV FROM 'file:///people.csv' AS r RETURN r", `LOAD/*x*/CSV FROM '${people}' AS r RETURN r`],
      ["RETURN 'LOAD CSV FROM /etc/passwd' AS t // LOAD CSV", "RETURN 'LOAD CSV FROM /etc/passwd' AS t // LOAD CSV"],
      ["RETURN 1 AS `load csv`", 'RETURN 1 AS `load csv`'],
    ];
    for (const [query, expected] of cases) assert.equal(confineLoadCsv(query, importDir).query, expected, query);
    assert.equal(confineLoadCsv('MATCH (n) RETURN n', importDir).checkPlan, false, 'no "csv" anywhere: no plan check');
    assert.throws(() => confineLoadCsv('LOAD CSV FROM $url AS r RETURN r', importDir), /string literal/);
    assert.throws(() => confineLoadCsv(String.raw`LOAD CSV FROM '\u002fetc/passwd' AS r RETURN r`, importDir), /Invalid URL '\/etc\/passwd'/);
  });
});

describe('LOAD CSV through a real graph-server', () => {
  let dir: string;
  let server: Running;
  let driver: Driver;
  let reader: Driver;
  let httpUrl: string;
  const keyFile = () => join(dir, 'keys', 'jwt-signing-keys.json');

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'allotrope-loadcsv-'));
    mkdirSync(join(dir, 'keys'));
    writeFileSync(keyFile(), JSON.stringify({ privateKey: SECRET }));
    mkdirSync(join(dir, 'node', 'import'), { recursive: true });
    writeFileSync(join(dir, 'node', 'import', 'people.csv'), 'name,age\nAda,36\nAlan,41\n');
    symlinkSync(keyFile(), join(dir, 'node', 'import', 'key.csv'));
    const usersFile = join(dir, 'node', 'users.json');
    await writeUsers(usersFile, [
      { username: 'neo4j', password: 'secret-pass' },
      { username: 'reader', password: 'reader-pass', readOnly: true },
    ]);
    server = await startServer(join(dir, 'node', 'data'), usersFile, ['--import-dir', join(dir, 'node', 'import'), '--query-check-budget-ms', '0']);
    driver = neo4j.driver(`bolt://127.0.0.1:${server.ready.boltPort}`, neo4j.auth.basic('neo4j', 'secret-pass'));
    reader = neo4j.driver(`bolt://127.0.0.1:${server.ready.boltPort}`, neo4j.auth.basic('reader', 'reader-pass'));
    httpUrl = `http://127.0.0.1:${server.ready.httpPort}/db/neo4j/query/v2`;
  });
  after(async () => {
    await driver?.close();
    await reader?.close();
    if (server) await stopServer(server);
    rmSync(dir, { recursive: true, force: true });
  });

  test('reads a file of the import directory by its file:/// URL', async () => {
    const { records } = await driver.executeQuery("LOAD CSV WITH HEADERS FROM 'file:///people.csv' AS row RETURN row.name AS name ORDER BY name");
    assert.deepEqual(records.map((r) => r.get('name')), ['Ada', 'Alan']);
    const written = await driver.executeQuery("LOAD CSV WITH HEADERS FROM 'file:///people.csv' AS row CREATE (:Person {name: row.name}) RETURN count(*) AS c");
    assert.equal(written.records[0]!.get('c').toNumber(), 2);
  });

  test('a read-only user cannot read host files, by any spelling, over Bolt', async () => {
    const attacks = [
      `LOAD CSV FROM '${keyFile()}' AS row RETURN row`,
      `LOAD CSV FROM 'file://${keyFile()}' AS row RETURN row`,
      "LOAD CSV FROM '/proc/self/cmdline' AS row RETURN row",
      "LOAD CSV FROM '/etc/passwd' AS row RETURN row",
      'LOAD CSV FROM "/etc/passwd" AS row RETURN row',
      "lOaD\tcSv /* hidden */ FROM '/etc/passwd' AS row RETURN row",
      String.raw`LOAD CSV FROM '\u002fetc\u002fpasswd' AS row RETURN row`,
      "LOAD CSV FROM 'file:///../../keys/jwt-signing-keys.json' AS row RETURN row",
      "LOAD CSV FROM 'file:///key.csv' AS row RETURN row",
      "MATCH (n) RETURN n AS r UNION LOAD CSV FROM '/etc/passwd' AS r RETURN r",
      "EXPLAIN LOAD CSV FROM '/etc/passwd' AS row RETURN row",
      "PROFILE LOAD CSV FROM '/etc/passwd' AS row RETURN row",
      "LOAD CSV FROM 'http://127.0.0.1:1/x.csv' AS row RETURN row",
    ];
    for (const query of attacks) {
      for (const d of [reader, driver]) {
        await assert.rejects(d.executeQuery(query), (err: Error & { code?: string }) => {
          assert.equal(err.code, 'Neo.ClientError.Statement.ExternalResourceFailed', `${query}: ${err.message}`);
          assert.doesNotMatch(err.message, new RegExp(`${SECRET}|root:x:0`), query);
          if (!query.includes(dir)) assert.doesNotMatch(err.message, new RegExp(dir), `${query}: the message names no host path`);
          return true;
        });
      }
    }
  });

  test('the Query API refuses the same reads', async () => {
    const res = await fetch(httpUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from('reader:reader-pass').toString('base64')}` },
      body: JSON.stringify({ statement: `LOAD CSV FROM '${keyFile()}' AS row RETURN row` }),
    });
    const text = await res.text();
    // Neo4j's Query API answers a refused statement 202 with `errors` (as for a syntax error).
    assert.equal(res.status, 202, text);
    assert.match(text, /ExternalResourceFailed/);
    assert.doesNotMatch(text, new RegExp(SECRET));
  });

  test("queries that only mention csv in data run as before", async () => {
    const { records } = await driver.executeQuery("RETURN 'LOAD CSV FROM /etc/passwd' AS t, 'file.csv' AS f");
    assert.equal(records[0]!.get('t'), 'LOAD CSV FROM /etc/passwd');
    const missing = await driver.executeQuery("LOAD CSV FROM 'file:///nope.csv' AS row RETURN row").catch((e: Error & { code?: string }) => e);
    assert.ok(missing instanceof Error);
    assert.equal((missing as { code?: string }).code, 'Neo.ClientError.Statement.ExternalResourceFailed');
    assert.match(missing.message, /file:\/\/\/nope\.csv/);
  });
});

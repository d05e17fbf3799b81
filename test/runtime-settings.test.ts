// The settings catalogue of the local runtime and how a node spec becomes graph-server flags.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildLaunch } from '../src/runtimes/local/command.js';
import { nodePaths } from '../src/runtimes/local/node-files.js';
import {
  LOCAL_RUNTIME_SETTINGS,
  parseDurationMs,
  parseSizeBytes,
  validateLocalRuntimeSettings,
} from '../src/runtimes/local/settings.js';
import type { NodeSpec } from '../src/runtimes/runtime.js';

const spec: NodeSpec = { databaseId: 'db1', stationId: 'st1', boltPort: 7687, httpPort: 7474, host: '127.0.0.1' };
const paths = nodePaths('/srv/allotrope', 'st1');

describe('local runtime settings', () => {
  test('every setting has a description and says whether it is secret', () => {
    assert.ok(LOCAL_RUNTIME_SETTINGS.length > 0);
    for (const s of LOCAL_RUNTIME_SETTINGS) {
      assert.ok(s.description.length > 10, s.key);
      assert.equal(typeof s.secret, 'boolean');
    }
  });

  test('parses Neo4j-style sizes and durations', () => {
    assert.equal(parseSizeBytes('512m'), 512 * 1024 ** 2);
    assert.equal(parseSizeBytes('2G'), 2 * 1024 ** 3);
    assert.equal(parseSizeBytes('1024'), 1024);
    assert.equal(parseSizeBytes('lots'), undefined);
    assert.equal(parseDurationMs('30s'), 30_000);
    assert.equal(parseDurationMs('500ms'), 500);
    assert.equal(parseDurationMs('2m'), 120_000);
    assert.equal(parseDurationMs('10'), 10_000);
    assert.equal(parseDurationMs('soon'), undefined);
  });

  test('refuses unknown keys naming the supported ones, and bad values naming the key', () => {
    const problems = validateLocalRuntimeSettings({ 'dbms.bogus': '1', 'server.memory.heap.max_size': '1k', 'server.databases.default_to_read_only': 'yes' });
    assert.equal(problems.length, 3);
    assert.match(problems[0]!, /unknown setting 'dbms.bogus'; supported: .*server.memory.heap.max_size/);
    assert.match(problems[1]!, /setting 'server.memory.heap.max_size': must be at least 64m/);
    assert.match(problems[2]!, /'yes' must be true or false/);
    assert.deepEqual(validateLocalRuntimeSettings({ 'server.memory.heap.max_size': '1g', 'server.databases.default_to_read_only': 'false' }), []);
  });

  test('a spec becomes graph-server flags and node options', () => {
    const plain = buildLaunch(spec, paths);
    assert.deepEqual(plain.args, [
      '--data-dir', '/srv/allotrope/nodes/st1/data',
      '--bolt-port', '7687',
      '--http-port', '7474',
      '--host', '127.0.0.1',
      '--users-file', '/srv/allotrope/nodes/st1/users.json',
      '--import-dir', '/srv/allotrope/nodes/st1/import',
    ]);
    assert.deepEqual(plain.nodeOptions, []);

    const tuned = buildLaunch({ ...spec, memoryMb: 1024, settings: { 'server.memory.heap.max_size': '512m', 'server.databases.default_to_read_only': 'true' } }, paths);
    assert.ok(tuned.args.includes('--read-only'));
    assert.deepEqual(tuned.nodeOptions, ['--max-old-space-size=512']);

    const advertised = buildLaunch({ ...spec, advertisedHost: 'db1.example.org' }, paths);
    assert.deepEqual(advertised.args.slice(-2), ['--advertised-host', 'db1.example.org']);

    const planOnly = buildLaunch({ ...spec, memoryMb: 256, readOnly: true }, paths);
    assert.deepEqual(planOnly.nodeOptions, ['--max-old-space-size=256']);
    assert.equal(planOnly.args.filter((a) => a === '--read-only').length, 1);
  });

  test('a spec with an invalid setting cannot be launched', () => {
    assert.throws(() => buildLaunch({ ...spec, settings: { 'dbms.bogus': '1' } }, paths), /not supported by the local runtime/);
    assert.throws(() => buildLaunch({ ...spec, settings: { 'server.memory.heap.max_size': 'big' } }, paths), /is not a size/);
  });
});

// The start-up warning about database ports inside the kernel's ephemeral range: parsing the Linux
// file, the overlap arithmetic, and the warning a real server logs for an overlapping range.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ephemeralPortRange, overlap } from '../src/net/ephemeral-ports.js';
import { Writable } from 'node:stream';
import { startServer } from './helpers/server.js';

function capture(lines: string[]): Writable {
  return new Writable({
    write(chunk, _encoding, callback) {
      lines.push(String(chunk));
      callback();
    },
  });
}

describe('ephemeral port range', () => {
  it('reads the Linux range file and refuses what it cannot parse', () => {
    assert.deepEqual(ephemeralPortRange(() => '32768\t60999\n'), { first: 32768, last: 60999 });
    assert.equal(ephemeralPortRange(() => 'garbage'), null);
    assert.equal(ephemeralPortRange(() => '5000 4000'), null);
    assert.equal(
      ephemeralPortRange(() => {
        throw new Error('ENOENT');
      }),
      null,
    );
  });

  it('finds the overlap of two ranges', () => {
    const eph = { first: 32768, last: 60999 };
    assert.equal(overlap({ first: 24780, last: 24979 }, eph), null);
    assert.deepEqual(overlap({ first: 32000, last: 33000 }, eph), { first: 32768, last: 33000 });
    assert.deepEqual(overlap({ first: 40000, last: 40010 }, eph), { first: 40000, last: 40010 });
    assert.equal(overlap({ first: 40000, last: 40010 }, null), null);
  });

  it('makes the server warn at start-up about a database port range inside it', async (t) => {
    const here = ephemeralPortRange();
    if (!here) {
      t.skip('this machine has no readable ephemeral port range');
      return;
    }
    const lines: string[] = [];
    const inside = `${here.first + 100}-${here.first + 139}`;
    const server = await startServer({ env: { ALLOTROPE_DB_PORTS: inside, ALLOTROPE_LOG_LEVEL: 'warn' }, logStream: capture(lines) });
    try {
      assert.ok(lines.some((l) => /overlaps this machine's ephemeral port range/.test(l)), lines.join('\n'));
    } finally {
      await server.stop();
    }
    const quiet: string[] = [];
    const outside = await startServer({ env: { ALLOTROPE_DB_PORTS: '24780-24819', ALLOTROPE_LOG_LEVEL: 'warn' }, logStream: capture(quiet) });
    try {
      assert.ok(!quiet.some((l) => /ephemeral/.test(l)), quiet.join('\n'));
    } finally {
      await outside.stop();
    }
  });
});

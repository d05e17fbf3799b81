// Fuzzing: random, mutated and truncated bytes must only ever raise ProtocolError in the decoder,
// and a live server must close such connections cleanly and keep serving everyone else.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { chunkMessage } from '../src/graph-server/bolt/chunking.js';
import { BOLT5_FORMAT, Packer, packValue, unpackMessage, unpackValue } from '../src/graph-server/bolt/packstream.js';
import { ProtocolError } from '../src/graph-server/bolt/protocol-error.js';
import { CypherDate, CypherDateTime, CypherDuration, CypherPoint, CypherTime, type Value } from '../src/graph-server/values.js';
import { RawBoltClient, SIG, startBoltServer, type TestBoltServer } from './helpers/bolt-test-server.js';
import { waitFor } from './helpers/wait-for.js';

// Deterministic PRNG (mulberry32) so a failure can be reproduced from the printed seed.
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEED = Number(process.env.BOLT_FUZZ_SEED ?? 20261123);

function randomBytes(r: () => number, max: number): Buffer {
  const n = Math.floor(r() * max);
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) {
    // Bias towards marker bytes so the decoder goes deeper than the first byte.
    b[i] = r() < 0.5 ? [0xb1, 0xb3, 0x91, 0xa1, 0x81, 0xd0, 0xd4, 0xd8, 0xcb, 0xc1, 0x44, 0x49, 0x69][Math.floor(r() * 13)] as number : Math.floor(r() * 256);
  }
  return b;
}

function randomValue(r: () => number, depth = 0): Value {
  const k = Math.floor(r() * (depth > 2 ? 7 : 10));
  switch (k) {
    case 0:
      return null;
    case 1:
      return r() < 0.5;
    case 2:
      return BigInt(Math.floor((r() - 0.5) * 2 ** 40)) * BigInt(Math.floor(r() * 2 ** 20));
    case 3:
      return (r() - 0.5) * 1e6;
    case 4:
      return 'ß'.repeat(Math.floor(r() * 20));
    case 5:
      return new Uint8Array(Math.floor(r() * 20));
    case 6:
      return [new CypherDate(1n), new CypherTime(5n, 60n), new CypherDateTime(1n, 2n, null, 'UTC'), new CypherDuration(1n, 2n, 3n, 4n), new CypherPoint(7203n, 1, 2)][Math.floor(r() * 5)] as Value;
    case 7:
      return Array.from({ length: Math.floor(r() * 5) }, () => randomValue(r, depth + 1));
    default: {
      const m: Record<string, Value> = {};
      for (let i = 0; i < Math.floor(r() * 5); i++) m[`k${i}`] = randomValue(r, depth + 1);
      return m;
    }
  }
}

function onlyProtocolErrors(fn: () => unknown, input: Buffer): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof ProtocolError)) {
      assert.fail(`seed ${SEED}: input ${input.toString('hex')} raised ${String(err)}`);
    }
  }
}

describe('decoder fuzzing', () => {
  it('raises only ProtocolError for 20000 random byte sequences', () => {
    const r = rng(SEED);
    for (let i = 0; i < 20_000; i++) {
      const input = randomBytes(r, 48);
      onlyProtocolErrors(() => unpackValue(input), input);
      onlyProtocolErrors(() => unpackMessage(input), input);
    }
  });

  it('raises ProtocolError for every strict prefix of valid encodings, and only ProtocolError for mutations', () => {
    const r = rng(SEED + 1);
    for (let i = 0; i < 1000; i++) {
      const v = randomValue(r);
      const full = packValue(v);
      assert.deepEqual(unpackValue(full), v);
      for (let cut = 0; cut < full.length; cut++) {
        assert.throws(() => unpackValue(full.subarray(0, cut)), ProtocolError);
      }
      for (let m = 0; m < 5 && full.length > 0; m++) {
        const mutated = Buffer.from(full);
        mutated[Math.floor(r() * mutated.length)] = Math.floor(r() * 256);
        onlyProtocolErrors(() => unpackValue(mutated), mutated);
      }
    }
  });
});

describe('live connection fuzzing', () => {
  let srv: TestBoltServer;
  before(async () => {
    srv = await startBoltServer({ maxMessageBytes: 1_000_000 });
  });
  after(async () => {
    await srv.close();
  });

  let hungUp = 0;
  async function attack(bytes: Buffer, endAfter: boolean): Promise<void> {
    const socket = net.connect(srv.port, '127.0.0.1');
    socket.on('error', () => {});
    socket.on('data', () => {});
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write(bytes);
    // Either the server closes on its own (garbage it understood as such), or we hang up and it must follow.
    if (endAfter) socket.end();
    const timer = setTimeout(() => {
      hungUp++;
      socket.destroy();
    }, 5000);
    await closed;
    clearTimeout(timer);
  }

  const handshake = Buffer.from('6060b017000008050000000000000000000000000000000000', 'hex').subarray(0, 20);

  function framedHello(): Buffer {
    const p = new Packer(BOLT5_FORMAT);
    p.structHeader(1, SIG.HELLO);
    p.pack({ user_agent: 'fuzz' });
    const q = new Packer(BOLT5_FORMAT);
    q.structHeader(1, SIG.LOGON);
    q.pack({ scheme: 'basic', principal: 'neo4j', credentials: 'secret-pass' });
    return Buffer.concat([chunkMessage(p.bytes()), chunkMessage(q.bytes())]);
  }

  it('closes 1500 connections fed random, truncated or garbage-framed bytes and keeps serving', async () => {
    const r = rng(SEED + 2);
    const hello = framedHello();
    const cases: [Buffer, boolean][] = [];
    for (let i = 0; i < 1500; i++) {
      const kind = i % 5;
      if (kind === 0) cases.push([randomBytes(r, 64), true]); // garbage before/instead of the handshake
      else if (kind === 1) cases.push([Buffer.concat([handshake, hello]).subarray(0, Math.floor(r() * (20 + hello.length))), true]); // truncated
      else if (kind === 2) cases.push([Buffer.concat([handshake, randomBytes(r, 64)]), true]); // raw garbage after the handshake
      else {
        // Well-framed chunks around random payloads reach the decoder and the state machine.
        const body = randomBytes(r, 40);
        const framed = body.length ? chunkMessage(body) : Buffer.alloc(0);
        cases.push([Buffer.concat([handshake, kind === 4 ? hello : Buffer.alloc(0), framed]), kind === 3 || body.length === 0 || r() < 0.5]);
      }
    }
    const concurrency = 16;
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < cases.length) {
          const [bytes, endAfter] = cases[next++] as [Buffer, boolean];
          await attack(bytes, endAfter);
        }
      }),
    );
    // Every case is invalid or hung up by us, so the server must have closed each one by itself.
    assert.equal(hungUp, 0);
    await waitFor(() => srv.server.openConnections === 0, { what: 'all fuzz connections to be closed' });
    assert.equal(srv.engine.openTransactions, 0);

    const ok = await RawBoltClient.connect(srv.port);
    try {
      assert.equal((await ok.handshake(Buffer.from('00000805000000000000000000000000', 'hex'))).toString('hex'), '00000805');
      assert.equal((await ok.hello()).signature, SIG.SUCCESS);
      ok.send(SIG.RUN, 'RETURN 1 AS x', {}, {});
      ok.send(SIG.PULL, { n: -1n });
      assert.equal((await ok.next()).signature, SIG.SUCCESS);
      assert.deepEqual((await ok.next()).fields[0], [1n]);
    } finally {
      ok.destroy();
    }
  });
});

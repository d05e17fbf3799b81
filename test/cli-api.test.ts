// The `allotrope` API commands as a user runs them: real child processes against a real `allotrope serve`
// (with real graph-server processes), a config dir of the test's own (XDG_CONFIG_HOME), a pseudo-terminal
// from util-linux `script` for the live progress line.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { allotropeCommand } from './helpers/cli.js';
import { testPortRange } from './helpers/lifecycle.js';
import { startServerProcess, type TestServerProcess } from './helpers/server.js';

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string>, input?: string): Promise<Result> {
  const [cmd, argv] = allotropeCommand(args);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { env: { ...process.env, ALLOTROPE_URL: '', ALLOTROPE_CLIENT_ID: '', ALLOTROPE_CLIENT_SECRET: '', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

/** Runs the command on a pseudo-terminal (stdin, stdout and stderr are a TTY); returns everything it wrote. */
function onTerminal(args: string[], env: Record<string, string>): Result {
  const [cmd, argv] = allotropeCommand(args);
  const line = [cmd, ...argv].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
  const res = hasScript
    ? spawnSync('script', ['-qfec', line, '/dev/null'], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 180_000 })
    : spawnSync('python3', ['-c', 'import pty,sys; sys.exit(pty.spawn(["/bin/sh","-c",sys.argv[1]]) >> 8)', line], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 180_000 });
  return { code: res.status, stdout: res.stdout, stderr: res.stderr };
}

// Drives a command on a pseudo-terminal like a person: waits for each expected text, then types the next line.
const PTY_DRIVER = `
import os, pty, sys, time, select, json
argv, steps = json.loads(sys.argv[1]), json.loads(sys.argv[2])
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)
buf = b''
def until(text, timeout=90):
    global buf
    deadline = time.time() + timeout
    while text.encode() not in buf:
        if time.time() > deadline:
            sys.stdout.write(buf.decode(errors='replace')); sys.exit('timed out waiting for %r' % text)
        r, _, _ = select.select([fd], [], [], 0.5)
        if r:
            try:
                buf += os.read(fd, 65536)
            except OSError:
                break
for wait, send in steps:
    until(wait)
    os.write(fd, send.encode())
_, status = os.waitpid(pid, 0)
try:
    while True:
        r, _, _ = select.select([fd], [], [], 0.2)
        if not r: break
        buf += os.read(fd, 65536)
except OSError:
    pass
sys.stdout.write(buf.decode(errors='replace'))
sys.exit(os.WEXITSTATUS(status))
`;
import { freePort } from './helpers/free-port.js';

function drivePty(args: string[], env: Record<string, string>, steps: [waitFor: string, type: string][]): Result {
  const [cmd, argv] = allotropeCommand(args);
  const res = spawnSync('python3', ['-c', PTY_DRIVER, JSON.stringify([cmd, ...argv]), JSON.stringify(steps)], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 180_000 });
  return { code: res.status, stdout: res.stdout, stderr: res.stderr };
}

describe('allotrope API commands', () => {
  let server: TestServerProcess;
  let xdg: string;
  let env: Record<string, string>;
  let dbId: string;
  let dbPassword: string;

  before(async () => {
    // A fixed port: local download links are built from the configured port (with port 0 they say :0).
    server = await startServerProcess({ env: { ALLOTROPE_DB_PORTS: testPortRange(), ALLOTROPE_PUBLIC_HOST: '127.0.0.1', ALLOTROPE_PORT: String(await freePort()) } });
    xdg = mkdtempSync(join(tmpdir(), 'allotrope-xdg-'));
    env = { XDG_CONFIG_HOME: xdg };
  });
  after(async () => {
    await server?.stop();
    if (xdg) rmSync(xdg, { recursive: true, force: true });
  });

  it('login checks the credentials and saves a named context readable only by the user', async () => {
    const { clientId, clientSecret } = server.adminCredentials;
    const wrong = await cli(['login', '--url', server.url, '--client-id', clientId, '--context', 'bad'], env, 'not-the-secret\n');
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /login failed: invalid_client \(HTTP 401\)/);
    const ok = await cli(['login', '--url', server.url, '--client-id', clientId, '--context', 'local'], env, `${clientSecret}\n`);
    assert.equal(ok.code, 0, ok.stderr);
    const file = join(xdg, 'allotrope', 'config.json');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(join(xdg, 'allotrope')).mode & 0o777, 0o700);
    const saved = JSON.parse(readFileSync(file, 'utf8'));
    assert.equal(saved.current, 'local');
    assert.deepEqual(Object.keys(saved.contexts), ['local']);
    const contexts = await cli(['contexts', 'list', '-o', 'json'], env);
    assert.deepEqual(JSON.parse(contexts.stdout).map((c: any) => [c.name, c.current]), [['local', true]]);
    assert.ok(!contexts.stdout.includes(clientSecret), 'contexts list does not print secrets');
  });

  it('works from ALLOTROPE_URL / _CLIENT_ID / _CLIENT_SECRET alone, and says how to log in without them', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'allotrope-xdg-'));
    try {
      const none = await cli(['plans'], { XDG_CONFIG_HOME: empty });
      assert.equal(none.code, 2);
      assert.match(none.stderr, /not logged in: run `allotrope login/);
      const { clientId, clientSecret } = server.adminCredentials;
      const plans = await cli(['plans', '-o', 'json'], { XDG_CONFIG_HOME: empty, ALLOTROPE_URL: server.url, ALLOTROPE_CLIENT_ID: clientId, ALLOTROPE_CLIENT_SECRET: clientSecret });
      assert.equal(plans.code, 0, plans.stderr);
      assert.ok(JSON.parse(plans.stdout).some((p: any) => p.id === 'ds2'));
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('databases create --wait prints the step lines and the running database; list -o json and -o yaml parse', async () => {
    const created = await cli(['databases', 'create', '--name', 'cli-db', '--plan', 'ds2', '--wait', '-o', 'json'], env);
    assert.equal(created.code, 0, created.stderr);
    const body = JSON.parse(created.stdout);
    assert.equal(body.database.status.state, 'running');
    assert.equal(body.credentials.username, 'neo4j');
    dbId = body.database.id;
    dbPassword = body.credentials.password;
    // Not a terminal: plain lines, one per step change, and no escape sequences.
    assert.match(created.stderr, /^create: start-node finished$/m);
    assert.match(created.stderr, /^create: finished in \d+s$/m);
    assert.doesNotMatch(created.stderr, /\x1b\[/);

    const list = await cli(['databases', 'list', '-o', 'json'], env);
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual(JSON.parse(list.stdout).map((d: any) => d.id), [dbId]);
    const yaml = await cli(['databases', 'list', '-o', 'yaml'], env);
    assert.equal(parseYaml(yaml.stdout)[0].connectionUrls.bolt, body.database.connectionUrls.bolt);
    const table = await cli(['databases', 'list'], env);
    assert.match(table.stdout, /^ID\s+NAME\s+STATE\s+PLAN/);
    assert.match(table.stdout, new RegExp(`^${dbId}\\s+cli-db\\s+running\\s+ds2`, 'm'));
    // A database is found by its name too.
    const got = await cli(['databases', 'get', 'cli-db', '-o', 'json'], env);
    assert.equal(JSON.parse(got.stdout).id, dbId);
  });

  it('a failing operation exits 1 with the server\'s message', async () => {
    const garbage = join(xdg, 'garbage.bin');
    writeFileSync(garbage, Buffer.alloc(4096, 7));
    const res = await cli(['import', 'cli-db', '--file', garbage, '--wait'], env);
    assert.equal(res.code, 1);
    const token = await server.token();
    const ops = await server.request('GET', `/deployments/databases/graphneo/${dbId}/operations`, { token });
    const failed = ops.body.find((o: any) => o.operationType === 'import');
    assert.equal(failed.status, 'failed');
    assert.ok(failed.error);
    assert.ok(res.stderr.includes(`allotrope: operation import failed at step`), res.stderr);
    assert.ok(res.stderr.includes(failed.error), res.stderr);
    // An API refusal is one line with the server's error too.
    const refused = await cli(['databases', 'resume', dbId], env);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^allotrope: .*\(HTTP 409\)\n$/);
  });

  it('on a terminal, --wait draws one live progress line with the step names', () => {
    const res = onTerminal(['databases', 'restart', dbId, '--wait'], env);
    assert.equal(res.code, 0, res.stdout + res.stderr);
    const out = res.stdout;
    assert.match(out, /\r\x1b\[2K[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] restart: [a-z-]+/, JSON.stringify(out.slice(0, 300)));
    assert.match(out, /✔ restart finished in \d+s/);
    assert.doesNotMatch(out, /^restart: [a-z-]+ started$/m, 'no plain step lines on a terminal');
  });

  it('export --download saves the file the export describes', async () => {
    const file = join(xdg, 'cli-db.tar.gz');
    const res = await cli(['export', 'cli-db', '--download', file, '-o', 'json'], env);
    assert.equal(res.code, 0, res.stderr);
    const exp = JSON.parse(res.stdout);
    const bytes = readFileSync(file);
    assert.equal(bytes.length, exp.sizeBytes);
    assert.equal(createHash('sha256').update(bytes).digest('hex'), exp.sha256);
    assert.equal(statSync(file).mode & 0o777, 0o600);
  });

  it('snapshots and the backup schedule', async () => {
    const snap = await cli(['snapshots', 'create', 'cli-db', '--label', 'before', '--wait', '-o', 'json'], env);
    assert.equal(snap.code, 0, snap.stderr);
    const snapshot = JSON.parse(snap.stdout);
    assert.equal(snapshot.status, 'ready');
    const latest = await cli(['backups', 'latest', 'cli-db', '-o', 'json'], env);
    assert.equal(JSON.parse(latest.stdout).id, snapshot.id);
    const set = await cli(['backups', 'schedule', 'set', 'cli-db', '--enable', '--frequency', 'weekly', '--day-of-week', '0', '--time', '02:30', '-o', 'json'], env);
    assert.equal(set.code, 0, set.stderr);
    const schedule = JSON.parse((await cli(['backups', 'schedule', 'get', 'cli-db', '-o', 'json'], env)).stdout);
    assert.deepEqual([schedule.enabled, schedule.frequency, schedule.dayOfWeek, schedule.time], [true, 'weekly', 0, '02:30']);
  });

  it('databases connect runs Cypher from a pipe and prints tables', async () => {
    const res = await cli(['databases', 'connect', 'cli-db'], { ...env, ALLOTROPE_DB_PASSWORD: dbPassword }, 'CREATE (:Cli {name: "a", n: 1});\nMATCH (c:Cli)\nRETURN c.name AS name, c.n AS n;\n');
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /1 nodesCreated/);
    assert.match(res.stdout, /^name\s+n\n\s*a\s+1\n1 row/m);
    const bad = await cli(['databases', 'connect', 'cli-db'], { ...env, ALLOTROPE_DB_PASSWORD: dbPassword }, 'RETURN 1 +;\n');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^error: /m);
  });

  const noPython = spawnSync('python3', ['--version']).status === 0 ? false : 'python3 is not installed (its pty module drives the terminal)';
  it('databases connect on a terminal: a prompt, multi-line statements, tables, and a history kept between sessions', { skip: noPython }, () => {
    const dbEnv = { ...env, ALLOTROPE_DB_PASSWORD: dbPassword };
    const first = drivePty(['databases', 'connect', 'cli-db'], dbEnv, [
      ['cli-db> ', 'MATCH (c:Cli)\r'],
      ['... ', 'RETURN count(c) AS cnt;\r'],
      ['row', ':exit\r'],
    ]);
    assert.equal(first.code, 0, first.stdout + first.stderr);
    assert.match(first.stdout, /connected to cli-db/);
    assert.match(first.stdout, /cnt\r?\n1\r?\n1 row/);
    const history = join(xdg, 'allotrope', 'cypher_history');
    assert.equal(readFileSync(history, 'utf8'), 'MATCH (c:Cli) RETURN count(c) AS cnt;\n');
    assert.equal(statSync(history).mode & 0o777, 0o600);
    // Arrow-up in a new session brings the statement back; Enter runs it again.
    const second = drivePty(['databases', 'connect', 'cli-db'], dbEnv, [
      ['cli-db> ', '\x1b[A'],
      ['count(c) AS cnt;', '\r'],
      ['row', ':exit\r'],
    ]);
    assert.equal(second.code, 0, second.stdout + second.stderr);
    assert.match(second.stdout, /cnt\r?\n1\r?\n1 row/);
  });

  it('switch-url exchanges the connection URLs of two databases (PUT …/connection-url/switch {targetDatabaseId})', async () => {
    const other = await cli(['databases', 'create', '--name', 'cli-other', '--wait', '-o', 'json'], env);
    assert.equal(other.code, 0, other.stderr);
    const otherBefore = JSON.parse(other.stdout).database;
    const mine = await cli(['databases', 'get', 'cli-db', '-o', 'json'], env);
    const mineBefore = JSON.parse(mine.stdout);
    const res = await cli(['databases', 'switch-url', 'cli-db', 'cli-other', '--wait', '-o', 'json'], env);
    assert.equal(res.code, 0, res.stderr);
    // With --wait the output is the finished operation.
    const op = JSON.parse(res.stdout);
    assert.equal(op.operationType, 'switch-connection-url');
    assert.equal(op.status, 'finished');
    const mineAfter = JSON.parse((await cli(['databases', 'get', 'cli-db', '-o', 'json'], env)).stdout);
    const otherAfter = JSON.parse((await cli(['databases', 'get', 'cli-other', '-o', 'json'], env)).stdout);
    assert.equal(mineAfter.boltPort, otherBefore.boltPort);
    assert.equal(otherAfter.boltPort, mineBefore.boltPort);
    // A second switch puts them back (later tests use cli-db's URL as it was).
    const back = await cli(['databases', 'switch-url', 'cli-db', 'cli-other', '--wait'], env);
    assert.equal(back.code, 0, back.stderr);
  });

  it('completion scripts know the command tree', () => {
    const [cmd, argv] = allotropeCommand(['completion', 'bash']);
    const script = spawnSync(cmd, argv, { encoding: 'utf8' }).stdout;
    const complete = (words: string) =>
      spawnSync('bash', ['-c', `${script}\nCOMP_WORDS=(${words}); COMP_CWORD=$((\${#COMP_WORDS[@]}-1)); _allotrope; echo "\${COMPREPLY[@]}"`], { encoding: 'utf8' }).stdout.trim();
    assert.equal(complete('allotrope databases cre'), 'create');
    assert.equal(complete('allotrope backups schedule s'), 'set');
    assert.deepEqual(complete('allotrope databases create --w').split(' ').sort(), ['--wait']);
    assert.ok(complete("allotrope ''").split(' ').includes('databases'));
    const [zcmd, zargv] = allotropeCommand(['completion', 'zsh']);
    const zsh = spawnSync(zcmd, zargv, { encoding: 'utf8' }).stdout;
    assert.match(zsh, /^#compdef allotrope/);
    assert.match(zsh, /bashcompinit/);
  });
});

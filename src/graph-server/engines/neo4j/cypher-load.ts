// Loading an imported Cypher script into a new Neo4j store: a scratch Neo4j on a fresh data dir, fed
// through neo4j-driver with the script's `:begin`/`:commit` batches, under the same refusals as the Grafeo
// loader (cypher-dump.ts) plus Neo4j's administration commands, and a time bound. Only once the whole
// script has loaded and Neo4j has stopped cleanly is the store handed to the swap.
import { createReadStream } from 'node:fs';
import type { Session, Transaction } from 'neo4j-driver';
import { CypherScriptError, refused, splitStatements, type LoadResult } from '../grafeo/cypher-dump.js';
import { isAdministrationCommand } from './admin-commands.js';
import { unwindLiteralAsParameter } from './literal-parameters.js';
import { memoryFlags, type Neo4jEngineFiles } from './jvm.js';
import { bounded, countGraph, openScratchNeo4j, takeStore, type ScratchNeo4j, type ScratchOptions } from './scratch.js';

// Statements outside `:begin`/`:commit` are committed per this many, as the Grafeo loader does.
const BATCH = 1000;
// Neo4j refuses schema changes inside a transaction that wrote data, and `CALL { … } IN TRANSACTIONS` inside
// any explicit transaction: those run on their own.
const OWN_TRANSACTION = /^\s*(?:(?:CREATE|DROP)\s+(?:(?:RANGE|TEXT|POINT|FULLTEXT|VECTOR|LOOKUP|BTREE)\s+)?(?:CONSTRAINT|INDEX)\b|[\s\S]*\bIN\s+(?:\d+\s+CONCURRENT\s+)?TRANSACTIONS\b)/i;

export interface Neo4jLoadLimits extends ScratchOptions {
  timeoutMs: number;
  signal?: AbortSignal;
}

function failure(position: number, statement: string, err: unknown): CypherScriptError {
  return new CypherScriptError(`statement ${position} failed: ${(err as Error).message.split('\n')[0]} (${statement.slice(0, 80)})`);
}

async function runScript(session: Session, scriptFile: string): Promise<number> {
  let tx: Transaction | null = null;
  let explicit = false;
  let pending = 0;
  let statements = 0;
  const commit = async () => {
    if (tx) await tx.commit();
    tx = null;
    pending = 0;
  };
  for await (const statement of splitStatements(createReadStream(scriptFile))) {
    if (statement.startsWith(':')) {
      const command = statement.slice(1).trim().split(/\s+/)[0]?.toLowerCase();
      if (command === 'begin') {
        await commit();
        explicit = true;
      } else if (command === 'commit') {
        await commit();
        explicit = false;
      } else if (command === 'rollback') {
        if (tx) await (tx as Transaction).rollback();
        tx = null;
        explicit = false;
      }
      continue;
    }
    statements++;
    if (refused(statement) || isAdministrationCommand(statement)) {
      throw new CypherScriptError(`statement ${statements} is not allowed in an import (LOAD CSV, CALL, USE and administration commands are refused): ${statement.slice(0, 80)}`);
    }
    if (OWN_TRANSACTION.test(statement)) {
      await commit();
      try {
        await session.run(statement);
      } catch (err) {
        throw failure(statements, statement, err);
      }
      continue;
    }
    tx ??= session.beginTransaction();
    try {
      const fast = unwindLiteralAsParameter(statement);
      await (fast ? tx.run(fast.statement, fast.parameters) : tx.run(statement));
    } catch (err) {
      throw failure(statements, statement, err);
    }
    pending++;
    if (!explicit && pending >= BATCH) await commit();
  }
  await commit();
  return statements;
}

/**
 * Runs the Cypher script `scriptFile` into a new Neo4j store made in `scratchDir` and moves that store to
 * `incoming` (node layout). Fails with CypherScriptError naming the statement at fault, or when the script
 * takes longer than `limits.timeoutMs` (the JVM is then killed).
 */
export async function loadCypherIntoNeo4j(engine: Neo4jEngineFiles, scriptFile: string, scratchDir: string, incoming: string, limits: Neo4jLoadLimits): Promise<LoadResult> {
  let scratch: ScratchNeo4j | null = null;
  let stopped = false;
  const result = await bounded(
    async () => {
      scratch = await openScratchNeo4j(engine, scratchDir, limits);
      // Stopped while the JVM was starting: nobody else will stop it.
      if (stopped) {
        await scratch.close(0);
        throw new Error('the import was stopped');
      }
      const session = scratch.driver.session({ database: 'neo4j' });
      try {
        const statements = await runScript(session, scriptFile);
        return { statements, ...(await countGraph(scratch.driver)) };
      } catch (err) {
        // -XX:+ExitOnOutOfMemoryError: a transaction too big for the heap ends the JVM, and the driver only sees a closed connection.
        const exit = await Promise.race([scratch.jvm.exited, new Promise<null>((resolve) => setTimeout(() => resolve(null), 1000))]);
        if (exit && !stopped) {
          throw new CypherScriptError(`Neo4j stopped while loading the script (${exit}), most likely out of memory: its heap is ${memoryFlags(limits.memoryMb).heapMb} MiB, half of the memory limit for imports`);
        }
        throw err;
      } finally {
        await session.close();
      }
    },
    limits,
    () => new CypherScriptError(`the Cypher script took longer than ${Math.round(limits.timeoutMs / 1000)} s to load, the limit for imports; it was stopped`),
    async () => {
      stopped = true;
      await (scratch as ScratchNeo4j | null)?.close(0);
    },
  ).catch(async (err: unknown) => {
    await (scratch as ScratchNeo4j | null)?.close(5_000);
    throw err;
  });
  // A clean stop checkpoints: the store is complete without its transaction logs' recovery.
  await (scratch as ScratchNeo4j | null)?.close();
  await takeStore(scratchDir, incoming);
  return result;
}


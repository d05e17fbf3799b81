// Users whose expiry passed lose access at once, not at their node's next restart: at every pass the users
// files of their databases' nodes are rewritten without them. (Network rules are the router's: nodes get none.)
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { nodeAccessOf, nodeSpecsOf } from '../domain/node-specs.js';
import type { Runtime } from '../runtimes/runtime.js';
import type { Tables } from '../store/schema/index.js';

export interface AccessSync {
  /** Pushes the users of databases with an expiry in (last pass, now]. */
  pass(now: Date): Promise<void>;
}

export function createAccessSync(deps: { db: Kysely<Tables>; runtime: Runtime; logger: Logger; nodeHost: string; startedAt: Date }): AccessSync {
  const { db, runtime, logger, nodeHost } = deps;
  let last = deps.startedAt;
  return {
    async pass(now) {
      const expired = await db
        .selectFrom('database_users')
        .select('database_id')
        .distinct()
        .where('expire_at', '>', last.toISOString())
        .where('expire_at', '<=', now.toISOString())
        .execute();
      last = now;
      for (const { database_id: databaseId } of expired) {
        const access = await nodeAccessOf(db, databaseId, now);
        for (const spec of await nodeSpecsOf(db, databaseId, nodeHost)) {
          await runtime.writeUsers(spec.stationId, access).catch((err: unknown) => logger.warn({ err, databaseId }, 'could not hand new users to a node'));
        }
      }
    },
  };
}

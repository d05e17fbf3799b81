// The types route plugins are written against: the TypeBox-typed Fastify instance and what the built-in
// routes receive. Routes import these from here, never from app.ts (which imports the routes).
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyBaseLogger, FastifyInstance, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';
import type { SigningKeys } from '../auth/signing-keys.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Store } from '../store/db.js';
import type { ApiMetrics } from './metrics.js';

/** The TypeBox-typed Fastify instance every route plugin receives. */
export type ApiInstance = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, TypeBoxTypeProvider>;

/** Routes another area adds; registered behind the bearer check. */
export type RoutePlugin = (app: ApiInstance) => Promise<void>;

/** What the built-in route plugins need. */
export interface RouteContext {
  config: Config;
  store: Store;
  clock: Clock;
  keys: SigningKeys;
  environmentInUse?: (environmentId: string) => Promise<boolean>;
  readinessChecks: Array<() => Promise<string | null>>;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Prometheus registry and HTTP metrics of this app; other areas may register metrics on it. */
    apiMetrics: ApiMetrics;
  }
}

// Wire shapes of the database routes (api.md §5): the database, its status, operations, users and
// configuration, and the bodies of the commands. The routes validate with them, /openapi.json is built from
// them; their Static<> types are what ../views/databases.ts fills in and what the SDK returns (src/sdk/types.ts).
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { DATABASE_STATES } from '../../domain/databases.js';
import { HttpDate, Id, PageQuery, PlainText, StringEnum } from './common.js';

export const VENDOR = 'graphneo';

export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const Status = Type.Object({
  state: Type.String({ description: `one of ${DATABASE_STATES.join(', ')}` }),
  needsRestart: Type.Boolean(),
  isPending: Type.Boolean({ description: 'An operation runs on the database' }),
  isLocked: Type.Boolean({ description: 'An operation holds the database exclusively' }),
  underIncident: Type.Boolean({ description: 'The health check fails or the process died and is being brought back' }),
  lastHealthCheckStatus: Type.Object({
    lastCheckSecondsAgo: Nullable(Type.Integer()),
    status: Type.String({ description: 'healthy, unhealthy, stopped or unknown (never checked)' }),
  }),
});
export type Status = Static<typeof Status>;

export const Database = Type.Object({
  id: Id,
  organizationId: Id,
  environmentId: Id,
  name: Type.String(),
  plan: Type.String(),
  version: Type.Object({ number: Type.String(), edition: Type.String(), vendor: Type.String(), engine: Type.String({ description: 'neo4j (Neo4j Community) or grafeo (the embedded engine); kept for the life of the database' }) }),
  region: Type.String(),
  domainName: Type.String(),
  privateDomainName: Type.String(),
  boltPort: Type.Integer(),
  httpPort: Type.Integer(),
  connectionUrls: Type.Object(
    { bolt: Type.String(), neo4j: Type.String(), http: Type.String(), browser: Type.String() },
    {
      description:
        "Where clients connect. With the router's TLS on (ALLOTROPE_ROUTER_TLS): bolt+s/neo4j+s (bolt+ssc/neo4j+ssc with the generated self-signed certificate) and https on the shared TLS port, the database named by the host <id>.<publicHost>; otherwise bolt/neo4j/http on the database's own boltPort/httpPort",
    },
  ),
  createdAt: HttpDate,
  status: Status,
  enabledExtrasKinds: Type.Array(Type.String()),
  nodes: Type.Array(Type.Object({ stationId: Type.String(), nodeType: Type.String(), state: Type.String() })),
  autoPause: Type.Object({ enabled: Type.Boolean(), idleMinutes: Type.Integer() }),
  autoResume: Type.Boolean(),
});
export type Database = Static<typeof Database>;

export const CreateDatabase = Type.Object(
  {
    environmentId: Type.String(),
    name: PlainText(),
    plan: Type.String({ description: 'Plan id, e.g. ds1 (see GET /deployments/plans)' }),
    version: Type.Optional(Type.String({ description: 'Version id or number (see GET /deployments/versions); default: the default version' })),
    edition: Type.Optional(Type.String()),
    region: Type.Optional(Type.String({ description: "Must be the environment's region (the default)" })),
    enabledExtrasKinds: Type.Optional(Type.Array(Type.String())),
    fromSnapshotId: Type.Optional(Type.String({ description: "A ready snapshot to seed the database with. Its database's environment must be visible to the caller (404 otherwise, as for an unknown id) and allow 'clone' (403 otherwise)" })),
  },
  { additionalProperties: false },
);

export const Credentials = Type.Object({ username: Type.String(), password: Type.String({ description: 'Shown only in this answer' }) });
export const Created = Type.Object({ database: Database, operationId: Id, credentials: Credentials });
export const OperationAccepted = Type.Object({ operationId: Id });
export const RestartAccepted = Type.Object({ operationId: Id, stationIds: Type.Array(Type.String()), reset: Type.Boolean() });

export const Step = Type.Object({
  name: Type.String(),
  status: Type.String(),
  startedAt: Type.String({ description: 'UNIX epoch seconds' }),
  finishedAt: Nullable(Type.String({ description: 'UNIX epoch seconds' })),
  message: Type.Optional(Type.String()),
});

export const Operation = Type.Object({
  id: Id,
  databaseId: Id,
  operationType: Type.String(),
  description: Type.String(),
  status: Type.String({ description: 'started, finished or failed' }),
  startedAt: Type.String({ description: 'UNIX epoch seconds, as a string' }),
  finishedAt: Type.Optional(Type.String({ description: 'UNIX epoch seconds, as a string' })),
  durationInSeconds: Type.Integer(),
  nextOperationId: Nullable(Id),
  steps: Type.Array(Step),
  error: Type.Optional(Type.String()),
});
export type Operation = Static<typeof Operation>;

export const DatabaseUser = Type.Object({
  id: Id,
  username: Type.String(),
  description: Nullable(Type.String()),
  expireAt: Nullable(HttpDate),
  readOnly: Type.Boolean(),
  createdAt: HttpDate,
});
export type DatabaseUser = Static<typeof DatabaseUser>;
export const DatabaseUserWithPassword = Type.Composite([DatabaseUser, Type.Object({ password: Type.String({ description: 'Shown only in this answer' }) })]);
export const NewPassword = Type.Object({ password: Type.String() });
export const CreateDatabaseUser = Type.Object(
  {
    username: Type.Optional(PlainText()),
    description: Type.Optional(PlainText()),
    expireAt: Type.Optional(Type.String({ description: "RFC 7231 date or 'never'" })),
    readOnly: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const ConfigurationEntry = Type.Object({ key: Type.String(), value: Type.String(), secret: Type.Boolean() });
export const Configuration = Type.Object({ configuration: Type.Array(ConfigurationEntry) });
export const PutConfiguration = Type.Object(
  {
    configuration: Type.Array(
      Type.Object(
        { key: Type.String(), value: Type.Union([Type.String(), Type.Number(), Type.Boolean()]), secret: Type.Optional(Type.Boolean()) },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

// Checked (with the contract's message) by the preValidation hook before the schema sees it.
export const Vendor = StringEnum([VENDOR] as const, { description: "Database vendor: 'graphneo' (Neo4j-compatible)" });
export const VendorParams = Type.Object({ vendor: Vendor });
export const DbParams = Type.Object({ vendor: Vendor, id: Type.String() });
export const OperationParams = Type.Object({ vendor: Vendor, id: Type.String(), operationId: Type.String() });
export const UserParams = Type.Object({ vendor: Vendor, id: Type.String(), userId: Type.String() });

export const ListQuery = Type.Composite([
  Type.Object({ environmentId: Type.Optional(Type.String()), state: Type.Optional(Type.String()) }),
  PageQuery,
], { additionalProperties: false });

export const Restart = Type.Object(
  { reset: Type.Optional(Type.Boolean()), stationIds: Type.Optional(Type.Array(Type.String())) },
  { additionalProperties: false },
);
export const PlanChange = Type.Object({ targetPlanName: Type.String() }, { additionalProperties: false });
export const SwitchUrl = Type.Object({ targetDatabaseId: Type.String({ description: 'The database to exchange connection URLs with' }) }, { additionalProperties: false });
export const Patch = Type.Object(
  {
    name: Type.Optional(PlainText()),
    autoPause: Type.Optional(
      Type.Union(
        [
          Type.Object({ enabled: Type.Optional(Type.Boolean()), idleMinutes: Type.Optional(Type.Integer()) }, { additionalProperties: false }),
          Type.Boolean({ description: 'Shorthand for {"enabled": …}' }),
        ],
        { description: 'Pause the database once the router has seen no open connection and no traffic to it for idleMinutes (5 to 10080); an open connection (an idle pooled driver connection too) keeps it running. The control plane checks at every health pass and starts an ordinary pause operation (docs/router.md)' },
      ),
    ),
    autoResume: Type.Optional(Type.Boolean({ description: 'While the database is paused, the first client that connects to its endpoint starts a resume operation; the router holds that connection (up to ALLOTROPE_AUTO_RESUME_WAIT_MS, default 30 s) and forwards it once the database runs, so the first query just takes longer (docs/router.md)' })),
  },
  { additionalProperties: false },
);


// The SDK's types: Static<> of the TypeBox schemas the server validates with and builds /openapi.json from.
// Type-only imports, so nothing of the server ends up in a bundle of the SDK.
import type { Static } from '@sinclair/typebox';
import type * as B from '../api/schemas/backups.js';
import type * as Bill from '../api/schemas/billing.js';
import type * as C from '../api/schemas/catalog.js';
import type * as Common from '../api/schemas/common.js';
import type * as D from '../api/schemas/databases.js';
import type * as I from '../api/schemas/identity.js';

export type Token = Static<typeof I.TokenResponse>;
export type Plan = Static<typeof C.Plan>;
export type Version = Static<typeof C.Version>;
export type Region = Static<typeof C.Region>;

export type Environment = Static<typeof I.Environment>;
export type EnvironmentType = Static<typeof I.EnvironmentType>;
export type CreateEnvironment = Static<typeof I.CreateEnvironment>;
export type UpdateEnvironment = Static<typeof I.UpdateEnvironment>;
export type NetworkRule = Static<typeof I.NetworkRule>;
export type CreateNetworkRule = Static<typeof I.CreateNetworkRule>;
export type EnvironmentTypeScope = Static<typeof I.EnvironmentTypeScope>;
export type DeploymentAction = Static<typeof I.DeploymentAction>;
export type ApiClient = Static<typeof I.ApiClient>;
export type ApiClientWithSecret = Static<typeof I.ApiClientWithSecret>;
export type CreateApiClient = Static<typeof I.CreateApiClient>;
export type UpdateApiClient = Static<typeof I.UpdateApiClient>;
export type ClientSecret = Static<typeof I.ClientSecret>;

export type Database = Static<typeof D.Database>;
export type DatabaseStatus = Static<typeof D.Status>;
export type CreateDatabase = Static<typeof D.CreateDatabase>;
export type DatabaseCreated = Static<typeof D.Created>;
export type ListDatabases = Static<typeof D.ListQuery>;
export type OperationAccepted = Static<typeof D.OperationAccepted>;
export type RestartOptions = Static<typeof D.Restart>;
export type RestartAccepted = Static<typeof D.RestartAccepted>;
export type UpdateDatabase = Static<typeof D.Patch>;
export type Operation = Static<typeof D.Operation>;
export type OperationStep = Static<typeof D.Step>;
export type DatabaseUser = Static<typeof D.DatabaseUser>;
export type DatabaseUserWithPassword = Static<typeof D.DatabaseUserWithPassword>;
/** Answer of POST …/users/{userId}/password: the new password, shown only here. */
export type NewPassword = Static<typeof D.NewPassword>;
export type CreateDatabaseUser = Static<typeof D.CreateDatabaseUser>;
export type Configuration = Static<typeof D.Configuration>;
export type PutConfiguration = Static<typeof D.PutConfiguration>;

export type Snapshot = Static<typeof B.Snapshot>;
export type CreateSnapshot = Static<typeof B.CreateSnapshot>;
export type SnapshotStarted = Static<typeof B.SnapshotStarted>;
export type RestoreOptions = Static<typeof B.Restore>;
export type BackupSchedule = Static<typeof B.Schedule>;
export type PutBackupSchedule = Static<typeof B.PutSchedule>;
export type Export = Static<typeof B.Export>;
export type StartExport = Static<typeof B.StartExport>;
export type ExportStarted = Static<typeof B.ExportStarted>;
export type CloneDatabase = Static<typeof B.Clone>;
export type DatabaseCloned = Static<typeof B.Cloned>;

/** Body of PUT …/connection-url/switch (api.md §5). */
export type SwitchConnectionUrl = Static<typeof D.SwitchUrl>;

/** `?limit=&after=` of every collection. */
export type Page = Static<typeof Common.PageQuery>;

export type Billing = Static<typeof Bill.Billing>;
export type SetPaymentMethod = Static<typeof Bill.SetPaymentMethod>;
export type UsageQuery = Omit<Static<typeof Bill.UsageQuery>, 'format'>;
export type UsageReport = Static<typeof Bill.UsageReport>;
export type Statement = Static<typeof Bill.Statement>;

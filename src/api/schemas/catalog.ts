// Wire shapes of the catalog: plans, versions, regions.
import { Type } from '@sinclair/typebox';
import { StringEnum } from './common.js';

export const Plan = Type.Object({
  id: Type.String(),
  name: Type.String(),
  tier: StringEnum(['developer', 'standard', 'professional'] as const),
  memoryMb: Type.Integer(),
  storageGb: Type.Integer(),
  cpus: Type.Number(),
  pricePerHour: Type.String({ description: 'Decimal amount in `currency`.' }),
  currency: Type.String(),
  features: Type.Object({ scheduledBackups: Type.Boolean(), snapshots: Type.Boolean(), maxSnapshots: Type.Integer(), readReplicas: Type.Boolean() }),
});

export const Version = Type.Object({
  id: Type.String(),
  number: Type.String(),
  edition: Type.String(),
  vendor: Type.String(),
  runtime: Type.String(),
  default: Type.Boolean(),
  engine: Type.Union([Type.Literal('neo4j'), Type.Literal('grafeo')], { description: 'The engine that runs databases of this version: Neo4j Community, or the embedded Grafeo engine.' }),
  engineVersion: Type.String({ description: "The engine's own version." }),
});

export const Region = Type.Object({ id: Type.String(), name: Type.String(), runtime: Type.String(), default: Type.Boolean() });

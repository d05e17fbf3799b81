// What can be deployed: plans (sizes and features), engine versions per runtime, and regions
// (configured placement targets). Static data; regions come from configuration.
import type { RegionConfig } from '../config.js';

export type PlanTier = 'developer' | 'standard' | 'professional';

export interface Plan {
  id: string;
  name: string;
  tier: PlanTier;
  memoryMb: number;
  storageGb: number;
  cpus: number;
  /** Decimal string, as the contract shows it. */
  pricePerHour: string;
  /** The same price in integer minor units (cents), for billing arithmetic. */
  priceMinorPerHour: number;
  currency: 'USD';
  features: {
    scheduledBackups: boolean;
    snapshots: boolean;
    maxSnapshots: number;
    readReplicas: boolean;
  };
}

export interface Version {
  id: string;
  number: string;
  edition: 'community';
  vendor: 'graphneo';
  runtime: string;
  default: boolean;
  /** The engine that actually runs the database: `neo4j` (Neo4j Community) or `grafeo` (embedded, needs only Node). */
  engine: Engine;
  /** The engine's own version. */
  engineVersion: string;
}

export type Engine = 'grafeo' | 'neo4j';

export type Region = RegionConfig;

function plan(n: number, tier: PlanTier, memoryMb: number, storageGb: number, cpus: number, cents: number, maxSnapshots: number, readReplicas: boolean): Plan {
  const backups = tier !== 'developer';
  return {
    id: `ds${n}`,
    name: `DS${n}`,
    tier,
    memoryMb,
    storageGb,
    cpus,
    pricePerHour: (cents / 100).toFixed(2),
    priceMinorPerHour: cents,
    currency: 'USD',
    features: { scheduledBackups: backups, snapshots: backups, maxSnapshots: backups ? maxSnapshots : 0, readReplicas },
  };
}

export const PLANS: readonly Plan[] = Object.freeze([
  plan(1, 'developer', 1024, 1, 0.5, 5, 0, false),
  plan(2, 'standard', 2048, 10, 1, 12, 7, false),
  plan(3, 'standard', 4096, 25, 2, 25, 14, true),
  plan(4, 'professional', 8192, 50, 2, 50, 30, true),
  plan(5, 'professional', 16384, 100, 4, 100, 30, true),
  plan(6, 'professional', 32768, 200, 8, 200, 60, true),
]);

export const GRAFEO_VERSION: Version = Object.freeze({
  id: '5.26-grafeo',
  number: '5.26.0',
  edition: 'community',
  vendor: 'graphneo',
  runtime: 'local',
  default: false,
  engine: 'grafeo',
  engineVersion: '0.6.0',
});

/** The id under which the installed Neo4j 5.26 LTS is offered. */
export const NEO4J_VERSION_ID = '5.26';

/**
 * What can be deployed here: Neo4j Community (the default) where it is installed and Java runs, next to
 * Grafeo, which needs nothing but Node and is the default otherwise. `neo4jVersion` is the installed
 * Neo4j's version (e.g. 5.26.30), or null.
 */
export function catalogVersions(neo4jVersion: string | null): Version[] {
  if (!neo4jVersion) return [{ ...GRAFEO_VERSION, default: true }];
  return [
    { id: NEO4J_VERSION_ID, number: neo4jVersion, edition: 'community', vendor: 'graphneo', runtime: 'local', default: true, engine: 'neo4j', engineVersion: neo4jVersion },
    { ...GRAFEO_VERSION },
  ];
}

/** The built-in region list (what configuration holds unless it says otherwise). */
export const REGIONS: readonly Region[] = Object.freeze([{ id: 'local', name: 'This machine', runtime: 'local', default: true }]);

/** Plan by id (`ds1`) or name (`DS1`), case-insensitive; undefined when unknown. */
export function findPlan(id: string): Plan | undefined {
  const key = id.trim().toLowerCase();
  return PLANS.find((p) => p.id === key);
}

/** Version by id (`5.26`, `5.26-grafeo`) or full number; an id wins over a number. Undefined when unknown. */
export function findVersion(idOrNumber: string, versions: readonly Version[]): Version | undefined {
  const key = idOrNumber.trim();
  return versions.find((v) => v.id === key) ?? versions.find((v) => v.number === key);
}

export function defaultVersion(versions: readonly Version[]): Version {
  return versions.find((v) => v.default) ?? versions[0]!;
}

/** Region by id among `regions` (pass `config.regions`); undefined when unknown. */
export function findRegion(id: string, regions: readonly Region[] = REGIONS): Region | undefined {
  return regions.find((r) => r.id === id.trim());
}

export function defaultRegion(regions: readonly Region[] = REGIONS): Region {
  return regions.find((r) => r.default) ?? regions[0]!;
}

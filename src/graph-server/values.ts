// The value model shared by the engine adapter, the Bolt encoder/decoder and the Query API.
// Cypher keeps Integer and Float apart, so Integer is always `bigint` and Float always `number`.
// Maps are plain objects (prototype Object or null); every structure is a class so that
// `instanceof` tells them apart from maps.

export type Value =
  | null
  | boolean
  | bigint // Cypher INTEGER (signed 64-bit)
  | number // Cypher FLOAT (64-bit)
  | string
  | Uint8Array // Cypher bytes
  | Value[]
  | ValueMap
  | Node
  | Relationship
  | Path
  | CypherDate
  | CypherTime
  | CypherLocalTime
  | CypherDateTime
  | CypherLocalDateTime
  | CypherDuration
  | CypherPoint;

export interface ValueMap {
  [key: string]: Value;
}

export class Node {
  constructor(
    readonly id: bigint,
    readonly labels: string[],
    readonly properties: ValueMap,
    readonly elementId: string,
  ) {}
}

export class Relationship {
  constructor(
    readonly id: bigint,
    readonly startId: bigint,
    readonly endId: bigint,
    readonly type: string,
    readonly properties: ValueMap,
    readonly elementId: string,
    readonly startElementId: string,
    readonly endElementId: string,
  ) {}
}

/** A path as alternating nodes and relationships: `rels[i]` joins `nodes[i]` and `nodes[i + 1]`, in either direction. */
export class Path {
  constructor(
    readonly nodes: Node[],
    readonly rels: Relationship[],
  ) {}
}

/** Days since 1970-01-01. */
export class CypherDate {
  constructor(readonly days: bigint) {}
}

/** Time of day with an offset: nanoseconds since local midnight. */
export class CypherTime {
  constructor(
    readonly nanoseconds: bigint,
    readonly offsetSeconds: bigint,
  ) {}
}

export class CypherLocalTime {
  constructor(readonly nanoseconds: bigint) {}
}

/**
 * An instant: `seconds` since the UTC epoch plus `nanoseconds`, shown either at a fixed offset
 * (`offsetSeconds`) or in an IANA zone (`zoneId`); exactly one of the two is set.
 */
export class CypherDateTime {
  constructor(
    readonly seconds: bigint,
    readonly nanoseconds: bigint,
    readonly offsetSeconds: bigint | null,
    readonly zoneId: string | null,
  ) {}
}

/** Wall-clock date and time: `seconds` since the epoch as if UTC, plus nanoseconds. */
export class CypherLocalDateTime {
  constructor(
    readonly seconds: bigint,
    readonly nanoseconds: bigint,
  ) {}
}

export class CypherDuration {
  constructor(
    readonly months: bigint,
    readonly days: bigint,
    readonly seconds: bigint,
    readonly nanoseconds: bigint,
  ) {}
}

/** SRIDs: 7203 cartesian 2D, 9157 cartesian 3D, 4326 WGS-84 2D, 4979 WGS-84 3D. */
export class CypherPoint {
  constructor(
    readonly srid: bigint,
    readonly x: number,
    readonly y: number,
    readonly z: number | null = null,
  ) {}
}

export function isValueMap(v: unknown): v is ValueMap {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof Uint8Array) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

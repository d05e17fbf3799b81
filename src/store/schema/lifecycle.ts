// Placeholder until this area's tables are written.
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface LifecycleTables {}

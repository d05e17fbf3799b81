// An in-memory Runtime for unit tests of the lifecycle's bookkeeping (events, reconcile at start, health):
// it records calls, lets a test emit events and choose which nodes fail to start.
import type { DatabaseUserEntry, NodeAccess, NodeHealth, NodeSpec, ReconcileReport, Runtime, RuntimeEvent } from '../../src/runtimes/runtime.js';

export class FakeRuntime implements Runtime {
  readonly name = 'fake';
  readonly settings = [];
  readonly running = new Set<string>();
  readonly users = new Map<string, DatabaseUserEntry[]>();
  readonly calls: string[] = [];
  reconciled: NodeSpec[] | undefined;
  /** Stations whose start fails (in reconcile and start). */
  readonly failing = new Set<string>();
  /** Stations whose health check answers unhealthy while running. */
  readonly unhealthy = new Set<string>();
  private readonly listeners = new Set<(event: RuntimeEvent) => void>();

  emit(event: RuntimeEvent): void {
    for (const l of this.listeners) l(event);
  }

  async provision(spec: NodeSpec) {
    this.calls.push(`provision ${spec.stationId}`);
  }
  async start(spec: NodeSpec) {
    this.calls.push(`start ${spec.stationId}`);
    if (this.failing.has(spec.stationId)) throw new Error(`node ${spec.stationId} would not start`);
    this.running.add(spec.stationId);
  }
  async stop(stationId: string) {
    this.calls.push(`stop ${stationId}`);
    this.running.delete(stationId);
  }
  async restart(spec: NodeSpec) {
    await this.stop(spec.stationId);
    await this.start(spec);
  }
  async destroy(stationId: string) {
    this.calls.push(`destroy ${stationId}`);
    this.running.delete(stationId);
  }
  async health(stationId: string): Promise<NodeHealth> {
    const status = !this.running.has(stationId) ? 'stopped' : this.unhealthy.has(stationId) ? 'unhealthy' : 'healthy';
    return { status, checkedAt: new Date() };
  }
  async endpoint(stationId: string) {
    return this.running.has(stationId) ? { boltPort: 1, httpPort: 2 } : null;
  }
  async writeUsers(stationId: string, access: NodeAccess) {
    this.users.set(stationId, access.users);
  }
  async empty() {}
  async backup() {}
  async restoreFiles() {}
  async restoreReplacedFiles() {
    return false;
  }
  async discardReplacedFiles() {}
  async counts() {
    return { nodes: 0, relationships: 0 };
  }
  async reconcile(desired: NodeSpec[]): Promise<ReconcileReport> {
    this.reconciled = desired;
    const report: ReconcileReport = { started: [], adopted: [], stopped: [], failed: [] };
    const wanted = new Set(desired.map((d) => d.stationId));
    for (const station of [...this.running]) if (!wanted.has(station)) (this.running.delete(station), report.stopped.push(station));
    for (const spec of desired) {
      if (this.failing.has(spec.stationId)) report.failed.push({ stationId: spec.stationId, error: 'would not start' });
      else (this.running.add(spec.stationId), report.started.push(spec.stationId));
    }
    return report;
  }
  onEvent(listener: (event: RuntimeEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  async close() {}
}

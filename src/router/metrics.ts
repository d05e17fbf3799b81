// The router's counters on the API's /metrics: read from the router over its control socket at each scrape.
import { Counter, Gauge, type Registry } from 'prom-client';
import { askRouter, type RouterMetrics } from './control.js';

export function registerRouterMetrics(registry: Registry, dataDir: string): void {
  let last: Promise<RouterMetrics | null> | null = null;
  // One control-socket round trip per scrape, shared by the metrics below.
  const read = (): Promise<RouterMetrics | null> => {
    last ??= askRouter<RouterMetrics>(dataDir, { op: 'metrics' }, 1_000).finally(() => setTimeout(() => (last = null), 100).unref());
    return last;
  };
  new Counter({
    name: 'allotrope_router_refusals_total',
    help: 'Connections the router refused or cut since it started, by reason (network-rule, network-rule-changed, unavailable, resume-timeout, node-unreachable, proxy-protocol, unknown-port).',
    labelNames: ['reason'] as const,
    registers: [registry],
    async collect() {
      const m = await read();
      this.reset();
      for (const [reason, n] of Object.entries(m?.refusals ?? {})) this.inc({ reason }, n);
    },
  });
  new Gauge({
    name: 'allotrope_router_open_connections',
    help: 'Client connections the router forwards right now.',
    registers: [registry],
    async collect() {
      const m = await read();
      this.set(m?.openConnections ?? 0);
    },
  });
  new Gauge({
    name: 'allotrope_router_up',
    help: '1 when the router of this data dir answers its control socket.',
    registers: [registry],
    async collect() {
      this.set((await read()) ? 1 : 0);
    },
  });
}

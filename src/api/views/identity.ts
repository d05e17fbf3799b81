// Environments, their network rules and API clients as the API shows them (api.md §4, §6), from the
// domain's objects; typed by the Static<> of their schemas in ../schemas/identity.ts.
import type { ApiClient as ApiClientModel } from '../../domain/api-clients.js';
import type { Environment as EnvironmentModel, NetworkRule as NetworkRuleModel } from '../../domain/environments.js';
import { httpDate, httpDateOrNull } from '../dates.js';
import type { ApiClient, Environment, NetworkRule } from '../schemas/identity.js';

export function networkRuleView(rule: NetworkRuleModel): NetworkRule {
  return { id: rule.id, label: rule.label, ipRange: rule.ipRange, createdAt: httpDate(rule.createdAt) };
}

export function environmentView(env: EnvironmentModel): Environment {
  return {
    id: env.id,
    label: env.label,
    organizationId: env.organizationId,
    type: env.type,
    color: env.color,
    region: env.region,
    cidr: env.cidr,
    createdAt: httpDate(env.createdAt),
    networkRules: env.networkRules.map(networkRuleView),
  };
}

export function apiClientView(c: ApiClientModel): ApiClient {
  return { id: c.id, name: c.name, clientId: c.clientId, role: c.role, environmentIds: c.environmentIds, createdAt: httpDate(c.createdAt), lastUsedAt: httpDateOrNull(c.lastUsedAt) };
}

// Wire shapes of tokens, environments, network rules, environment-type scopes and API clients.
import { Type, type Static } from '@sinclair/typebox';
import { DEPLOYMENT_ACTIONS, ENVIRONMENT_TYPES } from '../../auth/policy.js';
import { HttpDate, Id, PlainText, StringEnum } from './common.js';

export const TokenRequest = Type.Object(
  {
    client_id: Type.Optional(Type.String({ maxLength: 200 })),
    client_secret: Type.Optional(Type.String({ maxLength: 500 })),
    grant_type: Type.Optional(Type.String({ maxLength: 100, description: 'client_credentials (may be omitted)' })),
    scope: Type.Optional(Type.String({ maxLength: 1000, description: 'ignored' })),
  },
  { description: 'Credentials, or HTTP Basic with client_id:client_secret. Form-encoded or JSON.' },
);

export const TokenResponse = Type.Object({
  access_token: Type.String({ description: 'A JWT (ES256) carrying iss, sub, org, role, env, iat, exp, jti.' }),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer({ description: 'Seconds until the token expires.' }),
});

/** The public keys that verify access tokens (/.well-known/jwks.json). */
export const Jwks = Type.Object({ keys: Type.Array(Type.Object({}, { additionalProperties: true })) });

export const EnvironmentType = StringEnum(ENVIRONMENT_TYPES, { description: 'development (green), staging (yellow) or production (red)' });
export const DeploymentAction = StringEnum(DEPLOYMENT_ACTIONS);

export const NetworkRuleParams = Type.Object({ id: Type.String(), ruleId: Type.String() });
export const NetworkRule = Type.Object({ id: Id, label: Type.String(), ipRange: Type.String({ description: 'CIDR, IPv4 or IPv6' }), createdAt: HttpDate });
export type NetworkRule = Static<typeof NetworkRule>;

export const Environment = Type.Object({
  id: Id,
  label: Type.String(),
  organizationId: Id,
  type: EnvironmentType,
  color: StringEnum(['green', 'yellow', 'red'] as const),
  region: Type.String(),
  cidr: Type.Union([Type.String(), Type.Null()]),
  createdAt: HttpDate,
  networkRules: Type.Array(NetworkRule),
});
export type Environment = Static<typeof Environment>;


export const CreateEnvironment = Type.Object(
  {
    label: PlainText({ minLength: 1, maxLength: 100 }),
    type: EnvironmentType,
    region: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Region id; the default region when omitted.' })),
    cidr: Type.Optional(Type.String({ maxLength: 64, description: 'Private network range of the environment (CIDR).' })),
  },
  { additionalProperties: false },
);

export const UpdateEnvironment = Type.Object(
  { label: Type.Optional(PlainText({ minLength: 1, maxLength: 100 })), type: Type.Optional(EnvironmentType) },
  { additionalProperties: false, description: 'The region is fixed once created.' },
);

export const CreateNetworkRule = Type.Object(
  { label: PlainText({ minLength: 1, maxLength: 100 }), ipRange: Type.String({ minLength: 1, maxLength: 64, description: 'CIDR, IPv4 or IPv6; a bare address is a single host.' }) },
  { additionalProperties: false },
);

export const EnvironmentTypeScope = Type.Object({ type: EnvironmentType, color: Type.String(), allowedActions: Type.Array(DeploymentAction) });

export const UpdateEnvironmentTypeScope = Type.Object(
  { allowedActions: Type.Array(DeploymentAction, { maxItems: 50, description: 'Actions operators may perform in environments of this type. Reading is always allowed.' }) },
  { additionalProperties: false },
);

export const ApiClient = Type.Object({
  id: Id,
  name: Type.String(),
  clientId: Type.String({ description: 'The client_id to present at the token endpoint.' }),
  role: StringEnum(['owner', 'admin', 'operator', 'read-operator', 'billing'] as const),
  environmentIds: Type.Array(Id),
  createdAt: HttpDate,
  lastUsedAt: Type.Union([HttpDate, Type.Null()]),
});
export type ApiClient = Static<typeof ApiClient>;


export const ApiClientWithSecret = Type.Composite([ApiClient, Type.Object({ clientSecret: Type.String({ description: 'Shown only once.' }) })]);

export const CreateApiClient = Type.Object(
  {
    name: PlainText({ minLength: 1, maxLength: 100 }),
    role: Type.Optional(StringEnum(['operator', 'read-operator', 'admin'] as const, { default: 'operator' })),
    environmentIds: Type.Array(Type.String({ maxLength: 64 }), { maxItems: 1000 }),
  },
  { additionalProperties: false },
);

export const UpdateApiClient = Type.Object(
  { name: Type.Optional(PlainText({ minLength: 1, maxLength: 100 })), environmentIds: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 1000 })) },
  { additionalProperties: false },
);

export const ClientSecret = Type.Object({ clientSecret: Type.String({ description: 'Shown only once.' }) });

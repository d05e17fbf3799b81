// Shapes of the web console's session routes (/console/api/session, docs/console.md).
import { Type } from '@sinclair/typebox';

export const SignInBody = Type.Object({ username: Type.String({ minLength: 1, maxLength: 200 }), password: Type.String({ minLength: 1, maxLength: 1000 }) }, { additionalProperties: false });
export const SessionAnswer = Type.Object({
  user: Type.Object({ id: Type.String(), username: Type.String(), role: Type.String(), organizationId: Type.String() }),
  csrfToken: Type.String({ description: 'Send as X-CSRF-Token on every request made with the session cookie' }),
  idleMinutes: Type.Integer(),
});

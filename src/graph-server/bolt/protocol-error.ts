// The one error kind the Bolt layer raises for bytes it cannot accept (garbage, truncation,
// unknown markers, oversized messages). The connection answers it with a FAILURE and closes.

export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

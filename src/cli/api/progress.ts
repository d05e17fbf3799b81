// `--wait`: follows an operation (and its follow-ups) to its end. On a terminal, one live line on stderr
// with a spinner, the operation type, the current step and the elapsed time; otherwise a plain line per
// change (step started, finished, failed). A failed operation ends the command with exit code 1 and the
// server's message.
import type { Allotrope, Operation } from '../../sdk/index.js';
import { OperationFailedError, OperationTimeoutError } from '../../sdk/index.js';
import { CliError } from '../errors.js';

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

function currentStep(op: Operation): string {
  const running = op.steps.find((s) => s.status !== 'finished' && s.status !== 'failed') ?? op.steps[op.steps.length - 1];
  return running ? `${running.name}${running.message ? ` (${running.message})` : ''}` : 'queued';
}

export interface WaitFlags {
  timeout?: number;
}

export async function waitWithProgress(sdk: Allotrope, databaseId: string, operationId: string, flags: WaitFlags = {}, stream: NodeJS.WriteStream = process.stderr): Promise<Operation> {
  const tty = stream.isTTY === true;
  const started = Date.now();
  let latest: Operation | null = null;
  let frame = 0;
  const printed = new Set<string>();
  const draw = () => {
    if (!latest) return;
    const secs = Math.round((Date.now() - started) / 1000);
    stream.write(`\r\x1b[2K${SPINNER[frame++ % SPINNER.length]} ${latest.operationType}: ${currentStep(latest)} ${secs}s`);
  };
  const timer = tty ? setInterval(draw, 120) : null;
  const onProgress = (op: Operation) => {
    latest = op;
    if (tty) return draw();
    for (const step of op.steps) {
      const key = `${op.id}:${step.name}:${step.status}`;
      if (printed.has(key)) continue;
      printed.add(key);
      stream.write(`${op.operationType}: ${step.name} ${step.status}${step.message ? ` — ${step.message}` : ''}\n`);
    }
  };
  try {
    const op = await sdk.waitForOperation(databaseId, operationId, { timeout: (flags.timeout ?? 1800) * 1000, intervalMs: 500, onProgress });
    const secs = Math.round((Date.now() - started) / 1000);
    stream.write(tty ? `\r\x1b[2K✔ ${op.operationType} finished in ${secs}s\n` : `${op.operationType}: finished in ${secs}s\n`);
    return op;
  } catch (err) {
    if (tty) stream.write('\r\x1b[2K');
    if (err instanceof OperationFailedError) {
      const failedStep = err.operation.steps.find((s) => s.status === 'failed');
      throw new CliError(`operation ${err.operation.operationType} failed${failedStep ? ` at step ${failedStep.name}` : ''}: ${err.message}`, 1);
    }
    if (err instanceof OperationTimeoutError) throw new CliError(err.message, 1);
    throw err;
  } finally {
    if (timer) clearInterval(timer);
  }
}

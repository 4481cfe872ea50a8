/**
 * `etm serve [--db F] [--port 8080] [--host 127.0.0.1] [--token T]`: the ETM console on the
 * store until Ctrl-C (console/server.ts). Beyond loopback it needs a token, from --token or
 * ETM_CONSOLE_TOKEN (an environment variable keeps it out of `ps`).
 */
import { VError } from 'verror';

import type { ConsoleOptions, RunningConsole } from '../console/server';
import { Io, writeLine } from '../io';

export interface ServeOptions {
  readonly db: string;
  readonly port: string;
  readonly host: string;
  readonly token?: string;
}

export async function serve(options: ServeOptions, io: Io): Promise<number> {
  const port = Number(options.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new VError('--port must be a port number (0-65535), not %j', options.port);
  }
  await serveUntilStopped(
    {
      db: options.db,
      host: options.host,
      port,
      token: options.token ?? process.env.ETM_CONSOLE_TOKEN,
    },
    io,
  );
  return 0;
}

/**
 * Serves the console, prints its URL and stops on Ctrl-C (SIGINT) or SIGTERM. `anyPortIfBusy`:
 * when the port is taken, take any free one rather than fail (the demo).
 */
export async function serveUntilStopped(
  options: ConsoleOptions,
  io: Io,
  anyPortIfBusy = false,
): Promise<void> {
  // Loaded only here: the HTTP server is no part of any other command.
  const { startConsole } = await import('../console/server');
  let running: RunningConsole;
  try {
    running = await startConsole(options);
  } catch (err) {
    const cause = VError.cause(err as Error) as NodeJS.ErrnoException | null;
    if (!anyPortIfBusy || cause?.code !== 'EADDRINUSE') throw err;
    running = await startConsole({ ...options, port: 0 });
  }
  await writeLine(io.stdout, `ETM console on ${options.db}: ${running.url} (Ctrl-C stops it)`);
  await untilStopped();
  await running.close();
}

/** Resolves on SIGINT or SIGTERM. */
function untilStopped(): Promise<void> {
  return new Promise((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop).off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop).on('SIGTERM', stop);
  });
}

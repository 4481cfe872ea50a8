/**
 * `etm reset <connector> [--stream S]` (the next sync reads from scratch: the whole connector,
 * or one stream) and `etm remove <connector>` (its data leaves the store; assets other
 * connectors share stay). Both refuse a connector another etm process is syncing.
 */
import { VError } from 'verror';

import { Io, writeLine } from '../io';
import { removeConnector } from '../store/connector-removal';
import { busyError, Connectors } from '../store/connectors';
import { EtmStore } from '../store/database';
import { formatCount as n } from '../sync/summary';
import { streamsOf, withoutStream } from '../sync/source-state';

export interface ResetOptions {
  readonly db: string;
  readonly stream?: string;
}

export async function reset(name: string, options: ResetOptions, io: Io): Promise<number> {
  const store = await EtmStore.open(options.db);
  try {
    const connectors = new Connectors(store.sql);
    await known(connectors, name);
    const kept = await connectors.state(name);
    if (options.stream === undefined) {
      await connectors.clearState(name);
      await writeLine(io.stdout, `${name}: state cleared; the next sync reads everything again`);
      return 0;
    }
    const streams = streamsOf(kept);
    if (!streams.includes(options.stream)) {
      throw new VError(
        '--stream: connector %s has no state for stream %j (it has: %s)',
        name,
        options.stream,
        streams.join(', ') || 'none',
      );
    }
    await connectors.saveState(name, withoutStream(kept, options.stream));
    await writeLine(
      io.stdout,
      `${name}: ${options.stream} state cleared; the next sync reads that stream again`,
    );
    return 0;
  } finally {
    await store.close();
  }
}

export async function remove(
  name: string,
  options: { db: string; transformMap?: string },
  io: Io,
): Promise<number> {
  const store = await EtmStore.open(options.db);
  try {
    await known(new Connectors(store.sql), name);
    const r = await removeConnector(store.sql, name, options.transformMap);
    await writeLine(
      io.stdout,
      `${name} removed: ${n(r.hosts)} hosts, ${n(r.findings)} findings, ${n(r.assetsRemoved)} assets; ` +
        `${n(r.assetsKept)} assets other connectors share kept`,
    );
    return 0;
  } finally {
    await store.close();
  }
}

async function known(connectors: Connectors, name: string): Promise<void> {
  if (!(await connectors.get(name))) {
    const names = (await connectors.list()).map((c) => c.name);
    throw new VError('no connector %j (connectors: %s)', name, names.join(', ') || 'none');
  }
  const busy = await connectors.busyElsewhere(name);
  if (busy) throw busyError(busy);
}

/**
 * The demo's store: a fresh file on every run, so the demo always starts with a first sync, and
 * marked as a demo store. An existing file is replaced only if it is a demo store: `etm demo --db
 * etm.db` must not wipe a real one.
 */
import fs from 'fs';
import { VError } from 'verror';

import { EtmStore } from '../store/database';

const MARK = 'created_by';
const DEMO = 'etm demo';

export async function freshDemoStore(file: string): Promise<EtmStore> {
  if (fs.existsSync(file)) {
    if (!(await isDemoStore(file))) {
      throw new VError('%s exists and is not a demo store; choose another --db', file);
    }
    for (const f of [file, `${file}-wal`, `${file}-shm`]) fs.rmSync(f, { force: true });
  }
  const store = await EtmStore.open(`sqlite:${file}`);
  await store.setMeta(MARK, DEMO);
  return store;
}

async function isDemoStore(file: string): Promise<boolean> {
  let store: EtmStore | undefined;
  try {
    store = await EtmStore.open(`sqlite:${file}`, { readonly: true });
    return (await store.getMeta(MARK)) === DEMO;
  } catch {
    // Not an SQLite file, or not an ETM store.
    return false;
  } finally {
    await store?.close();
  }
}

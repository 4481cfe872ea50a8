import { AirbyteLogger } from 'faros-airbyte-cdk';

import { validateConfig } from '../../src/config';
import { QualysClient } from '../../src/qualys/client';
import { Progress } from '../../src/streams/progress';

describe('Progress', () => {
  beforeEach(() => jest.useFakeTimers({ now: new Date('2025-03-14T09:00:00Z') }));
  afterEach(() => jest.useRealTimers());

  it('logs records, rate, calls and retries every 30 s, and a summary at the end', () => {
    const lines: string[] = [];
    const logger = new AirbyteLogger();
    logger.info = (message: string) => void lines.push(message);
    const config = validateConfig({
      base_url: 'https://qualysapi.qualys.com',
      username: 'u',
      password: 'p',
    });
    const client = new QualysClient(config, QualysClient.httpInstance(config), logger);
    client.retries = 2;
    const progress = new Progress('host_detections', 'hosts', client, logger, 'detections');
    progress.start();
    for (let i = 0; i < 300; i++) progress.record(50);
    jest.advanceTimersByTime(29_999);
    expect(lines).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(lines).toEqual([
      'host_detections: 300 hosts (10/s), 15000 detections (500/s) in 30 s; 0 calls in flight, ' +
        '0 calls, 0 409 waits, 2 retries',
    ]);
    jest.advanceTimersByTime(10_000);
    progress.stop();
    expect(lines[1]).toBe(
      'Finished host_detections: 300 hosts (8/s), 15000 detections (375/s) in 40 s; 0 calls in ' +
        'flight, 0 calls, 0 409 waits, 2 retries',
    );
    jest.advanceTimersByTime(60_000);
    expect(lines).toHaveLength(2);
  });
});

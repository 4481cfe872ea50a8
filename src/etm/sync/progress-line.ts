/**
 * The progress line `etm sync` prints on stderr: what has been read, the rate over the last
 * interval (not since the start, which the knowledge-base waits and fixed costs skew), and — once
 * the source has sent its ESTIMATE for the stream being read — how far along it is and the time
 * left at the current rate.
 */
import { ConsumerProgress, StreamProgress } from './consumer';

interface Sample {
  readonly at: number;
  readonly findings: number;
  /** Records per stream. */
  readonly streams: ReadonlyMap<string, number>;
}

const n = (v: number): string => v.toLocaleString('en-US');

export class ProgressLine {
  private last: Sample;

  constructor(
    private readonly connector: string,
    started: number = Date.now(),
  ) {
    this.last = { at: started, findings: 0, streams: new Map() };
  }

  format(p: ConsumerProgress, now: number = Date.now()): string {
    const seconds = Math.max((now - this.last.at) / 1000, 0.001);
    const findingsRate = Math.round((p.findings - this.last.findings) / seconds);
    const current = p.streams[p.streams.length - 1];
    const streamRate = current
      ? (current.records - (this.last.streams.get(current.name) ?? 0)) / seconds
      : 0;
    this.last = {
      at: now,
      findings: p.findings,
      streams: new Map(p.streams.map((s) => [s.name, s.records])),
    };
    const parts = [
      `${this.connector}: ${n(p.records)} records (${n(p.hosts)} hosts, ${n(p.findings)} findings)`,
      `${n(p.checkpoints)} checkpoints`,
      `${n(findingsRate)} findings/s`,
    ];
    const done = current && progressOf(current, streamRate);
    if (done) parts.push(done);
    return parts.join(', ');
  }
}

/** "host_detections 42% of 20,000, about 1 min left", or null before the estimate. */
function progressOf(s: StreamProgress, recordsPerSecond: number): string | null {
  if (s.estimate === null || s.estimate <= 0) return null;
  const share = Math.min(100, Math.floor((100 * s.records) / s.estimate));
  const left = Math.max(0, s.estimate - s.records);
  const eta =
    recordsPerSecond > 0 && left > 0 ? `, about ${duration(left / recordsPerSecond)} left` : '';
  return `${s.name} ${share}% of ${n(s.estimate)}${eta}`;
}

function duration(seconds: number): string {
  if (seconds < 60) return `${Math.max(1, Math.round(seconds))} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  const h = Math.floor(seconds / 3600);
  return `${h} h ${Math.round((seconds - h * 3600) / 60)} min`;
}

/**
 * Progress of a stream for the people watching a long sync (field lessons #10): a log line every
 * 30 s with records done, rate, calls in flight, 409 waits and retries, and a summary at the end.
 */
import { AirbyteLogger } from 'faros-airbyte-cdk';

import { QualysClient } from '../qualys/client';

const INTERVAL_MS = 30_000;

export class Progress {
  private records = 0;
  private details = 0;
  private readonly startedAt = Date.now();
  private timer: NodeJS.Timeout | undefined;

  /** @param unit what a record is (hosts, QIDs); @param detailUnit what `detail` counts */
  constructor(
    private readonly stream: string,
    private readonly unit: string,
    private readonly client: QualysClient,
    private readonly logger: AirbyteLogger,
    private readonly detailUnit?: string,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.logger.info(this.line()), INTERVAL_MS);
    this.timer.unref();
  }

  /** Counts one record and `detail` sub-items of it (e.g. its detections). */
  record(detail = 0): void {
    this.records++;
    this.details += detail;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.logger.info(`Finished ${this.line()}`);
  }

  private line(): string {
    const seconds = Math.max((Date.now() - this.startedAt) / 1000, 0.001);
    const budget = this.client.budget.stats();
    const detail = this.detailUnit
      ? `, ${this.details} ${this.detailUnit} (${Math.round(this.details / seconds)}/s)`
      : '';
    return (
      `${this.stream}: ${this.records} ${this.unit} (${Math.round(this.records / seconds)}/s)` +
      `${detail} in ${seconds.toFixed(0)} s; ${budget.inFlight} calls in flight, ` +
      `${budget.calls} calls, ${budget.rateWaits + budget.concurrencyConflicts} 409 waits, ` +
      `${this.client.retries} retries`
    );
  }
}

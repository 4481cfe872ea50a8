/** The converter for each source stream this destination reads. */
import { Converter, streamOf } from '../converter';
import { Detections } from './detections';
import { HostDetections } from './host-detections';
import { Hosts } from './hosts';
import { KnowledgeBase } from './knowledge-base';

export class ConverterRegistry {
  private readonly byStream: ReadonlyMap<string, Converter>;

  constructor(
    readonly converters: ReadonlyArray<Converter> = [
      new Hosts(),
      new HostDetections(),
      new Detections(),
      new KnowledgeBase(),
    ],
  ) {
    this.byStream = new Map(converters.map((c) => [c.stream, c]));
  }

  /** The converter for a (possibly prefixed) stream name, if any. */
  get(stream: string): Converter | undefined {
    return this.byStream.get(streamOf(stream));
  }
}

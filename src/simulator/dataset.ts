/**
 * The simulated subscription's data: hosts, their detections and the knowledge base, generated
 * lazily and deterministically from the seed. Nothing per host is stored except what scan cycles
 * changed (which cycles touched a host, which hosts were purged), so memory stays flat whatever the
 * host count. Also the typed, documented accessors other engineers' tests compare against.
 */
import {
  CycleWindow,
  HostIdentity,
  HostOrigin,
  HostState,
  applyHostCycle,
  assetIdAt,
  generateHostState,
  generateIdentity,
} from './hosts';
import {
  DetectionState,
  HostDetections,
  applyDetectionCycle,
  generateDetections,
  truRiskScore,
} from './detections';
import { HostIdSpace, hostIdBase } from './host-ids';
import { KnowledgeBase } from './kb';
import { DetectionModel, HostModel, KbModel, detectionModel, hostModel, kbModel } from './models';
import { candidateIndices, detectionMatches, hostMatches } from './filters';
import { ParamPairs, parseHldRequest, parseHostListRequest } from './params';
import { TagCatalogue, TagDefinition } from './tags';
import type { SimClock } from './clock';

export interface OverlapOptions {
  /** Seed of the other subscription. */
  seed: number;
  /** Fraction (0-1) of this subscription's hosts that are also hosts of the other one. */
  fraction: number;
  /** Host count of the other subscription (default: this one's). */
  hosts?: number;
}

export interface DatasetOptions {
  seed: number;
  hosts: number;
  detectionsPerHost: number;
  qids: number;
  startSec: number;
  overlapWith?: OverlapOptions;
}

/** A host of this subscription that is also a host of the overlapping one. */
export interface SharedHost {
  hostId: number;
  /** The same machine's host ID in the other subscription. */
  partnerHostId: number;
  /** The identifier both subscriptions report for it (agent ID, cloud instance, FQDN). */
  key: 'QG_HOSTID' | 'CLOUD_RESOURCE_ID' | 'FQDN';
  value: string;
}

export interface HostDetectionsMatch {
  hostId: number;
  detections: DetectionModel[];
}

function strongKey(identity: HostIdentity): Pick<SharedHost, 'key' | 'value'> | undefined {
  if (identity.agentId) return { key: 'QG_HOSTID', value: identity.agentId };
  if (identity.cloud) return { key: 'CLOUD_RESOURCE_ID', value: identity.cloud.resourceId };
  if (identity.dnsData?.fqdn) return { key: 'FQDN', value: identity.dnsData.fqdn };
  return undefined;
}

export class Dataset {
  readonly knowledgeBase: KnowledgeBase;
  readonly tagCatalogue: TagCatalogue;
  readonly ids: HostIdSpace;
  /** Scan cycles so far; cycle n is at index n - 1. */
  readonly cycles: CycleWindow[] = [];
  private readonly purged: Uint8Array;
  private readonly hostCycles = new Map<number, number[]>();
  /** Per host index, the partner subscription's host index whose identity it shares, or -1. */
  private readonly partners?: Int32Array;
  private readonly partnerIds?: HostIdSpace;

  constructor(
    readonly options: DatasetOptions,
    private readonly clock: SimClock,
  ) {
    // Qualys has one knowledge base for every subscription: an overlapping one serves its
    // partner's (same `qids` needed), so a QID both report is the same vulnerability.
    const kbSeed = options.overlapWith?.seed ?? options.seed;
    this.knowledgeBase = new KnowledgeBase(kbSeed, options.qids, options.startSec);
    this.tagCatalogue = new TagCatalogue(options.seed);
    this.ids = new HostIdSpace(options.seed, options.hosts);
    this.purged = new Uint8Array(options.hosts);
    const overlap = options.overlapWith;
    if (overlap) {
      if (hostIdBase(overlap.seed) === hostIdBase(options.seed)) {
        throw new Error(
          `seeds ${options.seed} and ${overlap.seed} give the same host ID base; pick another seed`,
        );
      }
      this.partnerIds = new HostIdSpace(overlap.seed, overlap.hosts ?? options.hosts);
      this.partners = this.assignPartners(overlap, this.partnerIds.count);
    }
  }

  /**
   * Host i is shared when floor((i+1)·f) > floor(i·f): exactly floor(n·f) hosts, evenly spread.
   * The k-th shared host takes the k-th partner host that has an agent ID, cloud instance or FQDN
   * (hosts known only by IP cannot be matched across subscriptions, so they are not used).
   */
  private assignPartners(overlap: OverlapOptions, partnerCount: number): Int32Array {
    const partners = new Int32Array(this.options.hosts).fill(-1);
    let candidate = 0;
    for (let i = 0; i < this.options.hosts; i++) {
      if (Math.floor((i + 1) * overlap.fraction) === Math.floor(i * overlap.fraction)) continue;
      while (candidate < partnerCount && !strongKey(generateIdentity(overlap.seed, candidate)))
        candidate++;
      if (candidate >= partnerCount) break;
      partners[i] = candidate++;
    }
    return partners;
  }

  get hostCount(): number {
    return this.options.hosts;
  }

  isLive(index: number): boolean {
    return this.purged[index] === 0;
  }

  purgeIndex(index: number): void {
    this.purged[index] = 1;
  }

  /** Records that scan cycle `cycle` rescanned host `index`. */
  markRescanned(index: number, cycle: number): void {
    const list = this.hostCycles.get(index);
    if (list) list.push(cycle);
    else this.hostCycles.set(index, [cycle]);
  }

  /** Host-level state of host `index` after every scan cycle that touched it. */
  hostState(index: number): HostState {
    const origin = this.originOf(index);
    const state = generateHostState({
      seed: this.options.seed,
      index,
      id: this.ids.idAt(index),
      assetId: assetIdAt(this.options.seed, index),
      origin,
      identity: generateIdentity(origin.seed, origin.index),
      startSec: this.options.startSec,
      catalogue: this.tagCatalogue,
    });
    for (const cycle of this.hostCycles.get(index) ?? [])
      applyHostCycle(state, this.options.seed, this.cycles[cycle - 1]);
    return state;
  }

  /** A shared host is its partner's machine: its identity and detections come from there. */
  private originOf(index: number): HostOrigin {
    const partner = this.partners?.[index] ?? -1;
    const overlap = this.options.overlapWith;
    return partner >= 0 && overlap
      ? { seed: overlap.seed, index: partner }
      : { seed: this.options.seed, index };
  }

  /** The host's detections, replayed through the same scan cycles as its state. */
  hostDetections(state: HostState): HostDetections {
    const hd = generateDetections(state, this.knowledgeBase, this.options.detectionsPerHost);
    for (let k = 1; k < state.scans.length; k++) {
      applyDetectionCycle(state, hd, this.knowledgeBase, state.scans[k]);
    }
    return hd;
  }

  truRisk(state: HostState, detections: readonly DetectionState[]): number {
    return truRiskScore(detections, state.acs, this.knowledgeBase);
  }

  private liveIndexOf(id: number): number {
    const index = this.ids.indexOf(id);
    return index >= 0 && this.isLive(index) ? index : -1;
  }

  // ---- Public accessors for tests ----

  /** IDs of the live (not purged) hosts, ascending. */
  hostIds(): number[] {
    const ids: number[] = [];
    for (let i = 0; i < this.options.hosts; i++) if (this.isLive(i)) ids.push(this.ids.idAt(i));
    return ids;
  }

  /** The host as the Host List serves it with every display option on; undefined if no such live host. */
  host(id: number): HostModel | undefined {
    const index = this.liveIndexOf(id);
    if (index < 0) return undefined;
    const state = this.hostState(index);
    return hostModel(state, this.truRisk(state, this.hostDetections(state).list));
  }

  /** All the host's detections (every status, type, ignored and disabled ones), as HLD serves them. */
  detections(id: number): DetectionModel[] | undefined {
    const index = this.liveIndexOf(id);
    if (index < 0) return undefined;
    const state = this.hostState(index);
    return this.hostDetections(state).list.map((d) => detectionModel(d, id, this.knowledgeBase));
  }

  /** Every QID of the knowledge base, ascending (a superset of the QIDs of all detections). */
  kbQids(): number[] {
    return this.knowledgeBase.entries.map((e) => e.qid);
  }

  /** The KB entry as served with details=All and every show_* flag; undefined for an unknown QID. */
  kb(qid: number): KbModel | undefined {
    const index = this.knowledgeBase.indexOf(qid);
    return index === undefined ? undefined : kbModel(this.knowledgeBase, index);
  }

  /** The tag catalogue (IDs, names, criticality of criticality tags). */
  tags(): readonly TagDefinition[] {
    return this.tagCatalogue.tags;
  }

  /**
   * Host IDs the Host List API returns for these request parameters (Qualys names and string values,
   * exactly as sent over HTTP, e.g. `{ use_tags: '1', tag_set_include: '123' }`), ignoring paging.
   * `action=list` is implied. Throws ParamError for parameters the server would reject.
   */
  matchHosts(params: Readonly<Record<string, string>>): number[] {
    const request = parseHostListRequest(withAction(params), this.clock.nowSeconds());
    const ids: number[] = [];
    for (const index of candidateIndices(this.ids, request.filter)) {
      if (!this.isLive(index)) continue;
      const state = this.hostState(index);
      if (
        hostMatches(state, request.filter, () =>
          this.truRisk(state, this.hostDetections(state).list),
        )
      ) {
        ids.push(state.id);
      }
    }
    return ids;
  }

  /**
   * Hosts and detections the HLD API returns for these request parameters (as in matchHosts, e.g.
   * `{ status: 'New,Active', show_igs: '1', severities: '4-5' }`), ignoring paging: hosts ascending,
   * hosts without a matching detection omitted (doc §3).
   */
  matchDetections(params: Readonly<Record<string, string>>): HostDetectionsMatch[] {
    const request = parseHldRequest(withAction(params), this.clock.nowSeconds());
    const out: HostDetectionsMatch[] = [];
    for (const index of candidateIndices(this.ids, request.filter)) {
      if (!this.isLive(index)) continue;
      const state = this.hostState(index);
      const all = this.hostDetections(state).list;
      if (!hostMatches(state, request.filter, () => this.truRisk(state, all))) continue;
      const matching = all.filter((d) =>
        detectionMatches(d, request.detectionFilter, this.knowledgeBase),
      );
      if (matching.length > 0) {
        out.push({
          hostId: state.id,
          detections: matching.map((d) => detectionModel(d, state.id, this.knowledgeBase)),
        });
      }
    }
    return out;
  }

  /** Hosts shared with the `overlapWith` subscription, ascending by host ID (empty without overlap). */
  sharedHosts(): SharedHost[] {
    const shared: SharedHost[] = [];
    if (!this.partners || !this.partnerIds) return shared;
    for (let i = 0; i < this.options.hosts; i++) {
      const partner = this.partners[i];
      if (partner < 0 || !this.isLive(i)) continue;
      const key = strongKey(this.hostState(i).identity);
      if (key)
        shared.push({
          hostId: this.ids.idAt(i),
          partnerHostId: this.partnerIds.idAt(partner),
          ...key,
        });
    }
    return shared;
  }
}

function withAction(params: Readonly<Record<string, string>>): ParamPairs {
  return [['action', 'list'], ...Object.entries(params).filter(([name]) => name !== 'action')];
}

/**
 * Hot spots from the trace rings, without decoding them into objects: which device pages the
 * pagers faulted in most, for which processes, and how long each device's d_mmap took.
 */
import { TRACE_EV } from '../layout.js';
import { K_DMMAP, K_SERVE_FAULT } from '../trace.js';
import { pageLabel, processLabel, SlotOwners } from './names.js';
import { deviceOf, FLOW_SLOT_MOD, kindOf, liveRings, type RingReader } from './trace-decode.js';
import type { ProfileSource } from './source.js';

export interface HotPage {
  dev: number;
  off: number;
  label: string;
  /** faults served on this page (kept in the rings) */
  faults: number;
  /** pager time serving them, ns */
  serveNs: number;
  /** the processes that faulted on it */
  processes: string[];
}

export interface DeviceDmmap {
  dev: number;
  path: string;
  driver: string;
  /** timed d_mmap calls (1 in DMMAP_SAMPLE) and their total time, ns */
  sampled: number;
  ns: number;
  /** the median timed call, ns: robust to a call the scheduler stretched */
  medianNs: number;
}

export interface TraceHotSpots {
  /** every device page faulted, most faulted first */
  pages: HotPage[];
  /** device faults kept in the rings, in all */
  deviceFaults: number;
  /** d_mmap time per device, from the sampled calls, slowest median first */
  dmmap: DeviceDmmap[];
  /** the median service of a device fault, ns */
  faultServeMedianNs: number;
}

export function traceHotSpots(src: ProfileSource, read: RingReader = liveRings(src)): TraceHotSpots {
  const devices = src.deviceNames();
  const owners = new SlotOwners(src.processLog());
  const pages = new Map<string, { dev: number; off: number; faults: number; serveNs: number; pids: Set<number>; names: string[] }>();
  const dm = new Map<number, { sampled: number; ns: number; all: number[] }>();
  let deviceFaults = 0;
  const serves: number[] = [];
  for (const thread of src.threads().pagers) {
    const raw = read(thread);
    const d = raw.data;
    for (let i = 0; i < raw.n; i++) {
      const b = i * TRACE_EV;
      const k = kindOf(d[b]);
      if (k === K_SERVE_FAULT) {
        const dev = deviceOf(d[b]);
        if (dev < 0) continue;
        deviceFaults++;
        const off = d[b + 3];
        const key = `${dev}:${off}`;
        let p = pages.get(key);
        if (!p) pages.set(key, (p = { dev, off, faults: 0, serveNs: 0, pids: new Set(), names: [] }));
        p.faults++;
        p.serveNs += d[b + 2] * 1e6;
        serves.push(d[b + 2] * 1e6);
        const owner = owners.at(d[b + 4] % FLOW_SLOT_MOD, d[b + 1]);
        if (owner && !p.pids.has(owner.pid)) {
          p.pids.add(owner.pid);
          p.names.push(processLabel(owner));
        }
      } else if (k === K_DMMAP) {
        const dev = deviceOf(d[b]);
        let x = dm.get(dev);
        if (!x) dm.set(dev, (x = { sampled: 0, ns: 0, all: [] }));
        x.sampled++;
        x.ns += d[b + 2] * 1e6;
        x.all.push(d[b + 2] * 1e6);
      }
    }
  }
  return {
    pages: [...pages.values()]
      .sort((a, b) => b.faults - a.faults || b.serveNs - a.serveNs)
      .map((p) => ({ dev: p.dev, off: p.off, label: pageLabel(devices, p.dev, p.off), faults: p.faults, serveNs: p.serveNs, processes: p.names })),
    deviceFaults,
    dmmap: [...dm.entries()]
      .map(([dev, x]) => ({ dev, path: devices[dev]?.path ?? `device ${dev}`, driver: devices[dev]?.driver ?? '?', sampled: x.sampled, ns: x.ns, medianNs: median(x.all) }))
      .sort((a, b) => b.medianNs - a.medianNs),
    faultServeMedianNs: median(serves),
  };
}



function median(xs: number[]): number {
  if (xs.length === 0) return 0;
  xs.sort((a, b) => a - b);
  return xs[xs.length >> 1];
}

/**
 * How a report names what the user built: device pages as `/dev/foo0 +0x3000 (mailbox)`, with
 * the region its driver declares; processes as `pid 101 host-prog.mjs`; pagers as `pager 0`.
 */
import type { DeviceNames, ProcessRecord } from './source.js';

const hex = (n: number) => (n < 0 ? `-0x${(-n).toString(16)}` : `0x${n.toString(16)}`);

/** `/dev/foo0 +0x3000`, then the declared region that holds it: `(mailbox)` or `(ring +0x1000)`. */
export function pageLabel(devices: readonly DeviceNames[], dev: number, off: number): string {
  const d = devices[dev];
  if (!d) return `device ${dev} +${hex(off)}`;
  const r = d.regions.find((x) => off >= x.offset && off < x.offset + x.size && x.name);
  const base = `${d.path} +${hex(off)}`;
  if (!r) return base;
  return off === r.offset ? `${base} (${r.name})` : `${base} (${r.name} +${hex(off - r.offset)})`;
}

/** The file name of a program URL: `file:///home/me/prog.mjs` -> `prog.mjs`. */
export function programName(url: string): string {
  const path = url.replace(/[?#].*$/, '');
  const i = path.lastIndexOf('/');
  return decodeURIComponent(i >= 0 ? path.slice(i + 1) : path) || url;
}

export function processLabel(p: ProcessRecord): string {
  return `pid ${p.pid}${p.tid !== p.pid ? ` tid ${p.tid}` : ''} ${programName(p.program)}`;
}

/**
 * Finds, for each event of one slot's ring, the process that held the slot: records sorted by
 * start, walked forward as the (mostly increasing) event times go.
 */
export class SlotOwners {
  private readonly bySlot = new Map<number, ProcessRecord[]>();
  constructor(log: readonly ProcessRecord[]) {
    for (const p of log) {
      let a = this.bySlot.get(p.slot);
      if (!a) this.bySlot.set(p.slot, (a = []));
      a.push(p);
    }
    for (const a of this.bySlot.values()) a.sort((x, y) => x.startMs - y.startMs);
  }
  /** The process of `slot` at `ms`: the latest one started by then (events of a slot are its own). */
  at(slot: number, ms: number): ProcessRecord | null {
    const a = this.bySlot.get(slot);
    if (!a || a.length === 0) return null;
    let lo = 0;
    let hi = a.length - 1;
    let k = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (a[mid].startMs <= ms) {
        k = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    // An event a hair before its process's recorded start (the host stamps the start after the
    // slot is set up) belongs to the first process.
    return a[Math.max(0, k)];
  }
  processes(slot: number): readonly ProcessRecord[] {
    return this.bySlot.get(slot) ?? [];
  }
}

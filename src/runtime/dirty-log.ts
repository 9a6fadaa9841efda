/**
 * Dirty logging for host-side device emulation (QEMU's dirty log, what VGA emulation redraws
 * from): rt.kernel.dirtyLog(kva, length) reports, one byte per page, the pages some process wrote
 * since the previous call for that page, and re-arms them.
 *
 * Each frame has a dirty bit (layout.ts dirtyBits). A thread sets it in its slow path before it
 * fills a write entry for a device page (a read never fills one), so while the bit is clear no
 * write entry for the frame exists in any TLB, and the first write after a re-arm takes the slow
 * path and marks it. Re-arming is therefore: clear the bits, then take every write entry that
 * points at one of the frames out of every thread's TLB (bumping the thread's S_INVSEQ first, as
 * every invalidator does). The races this leaves, and why each one is covered:
 *   - a fill racing the re-arm: the thread re-reads the bit after its fill and sets it again if
 *     the host cleared it in between (process/access.ts);
 *   - a store racing the re-arm through an entry loaded before it: every store re-checks its entry
 *     after it lands, and one that changed marks the frame again (process/api.ts, storeRaced);
 *   - a store still in the writing CPU's store buffer when the host reads the page: the host
 *     waits a few microseconds after taking the entries away, far longer than a store buffer
 *     takes to drain.
 * So a write a process completed before it signalled the host is in the host's next dirtyLog
 * after that signal, and a page nobody wrote since the previous call is never reported.
 */
import { PAGE_SIZE } from '../constants.js';
import { badRange, badType } from '../errors.js';
import { S_INVSEQ, S_STATUS, S_TLB_HI, S_TLB_LO, STATUS_LIVE, VPAGES, type Layout } from '../layout.js';
import type { SlotViews } from '../pager/protocol.js';
import type { PhysMem } from '../physmem.js';

/** How long the host waits, after taking write entries away, for stores in flight to land. */
const DRAIN_NS = 2000;

export class DirtyLog {
  private readonly dirty: Int32Array;
  private readonly w: Int32Array[];
  private readonly marks: Uint8Array;

  constructor(private readonly phys: PhysMem, layout: Layout, tlbs: readonly SharedArrayBuffer[], private readonly slots: readonly SlotViews[]) {
    this.dirty = new Int32Array(phys.sab, layout.dirtyBitsOff, layout.bitmapWords);
    this.w = tlbs.map((b) => new Int32Array(b, VPAGES * 4, VPAGES));
    this.marks = new Uint8Array(layout.frames);
  }

  log(kva: number, length: number): Uint8Array {
    if (typeof kva !== 'number' || !Number.isInteger(kva)) throw badType('dirtyLog kva', 'an integer kernel virtual address', kva);
    if (typeof length !== 'number' || !Number.isInteger(length) || length < 0) throw badRange('dirtyLog length', 'a non-negative integer number of bytes', length);
    if (kva % PAGE_SIZE !== 0) throw badRange('dirtyLog kva', 'a page-aligned kernel virtual address', kva);
    const n = Math.ceil(length / PAGE_SIZE);
    const frames = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const pa = this.phys.pmapExtract(kva + i * PAGE_SIZE);
      if (pa < 0) throw badRange('dirtyLog', `a range of mapped kernel memory (page ${i} at 0x${(kva + i * PAGE_SIZE).toString(16)} is not mapped)`, kva);
      frames[i] = pa / PAGE_SIZE;
    }
    const out = new Uint8Array(n);
    const d = this.dirty;
    for (let i = 0; i < n; i++) {
      const pfn = frames[i];
      const bit = 1 << (pfn & 31);
      out[i] = (Atomics.and(d, pfn >>> 5, ~bit) & bit) !== 0 ? 1 : 0;
      this.marks[pfn] = 1;
    }
    let revoked = 0;
    for (let t = 0; t < this.w.length; t++) {
      const s = this.slots[t];
      if (Atomics.load(s.status, S_STATUS) !== STATUS_LIVE) continue;
      const w = this.w[t];
      const lo = Atomics.load(s.spinning, S_TLB_LO);
      const hi = Math.min(VPAGES, Atomics.load(s.spinning, S_TLB_HI));
      let bumped = false;
      for (let vpn = lo; vpn < hi; vpn++) {
        const e = w[vpn];
        if (e > 0 && this.marks[e - 1] === 1) {
          if (!bumped) {
            Atomics.add(s.inv, S_INVSEQ, 1);
            bumped = true;
          }
          Atomics.store(w, vpn, 0);
          revoked++;
        }
      }
    }
    for (let i = 0; i < n; i++) this.marks[frames[i]] = 0;
    if (revoked > 0) {
      const until = performance.now() + DRAIN_NS / 1e6;
      while (performance.now() < until);
    }
    return out;
  }
}

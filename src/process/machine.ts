/**
 * Views a process worker builds once over the arena and reuses for every thread it runs: the
 * physical memory in each access width, the run line, every pager's control block, the frame
 * info and dirty bits. They live in the worker's own realm; a program never gets them
 * (process/realm.ts hands it only its Process object).
 */
import { PAGE_SIZE } from '../constants.js';
import type { Layout } from '../layout.js';
import { PagerViews } from '../pager/protocol.js';

export class MachineViews {
  readonly m8: Uint8Array;
  readonly m16: Uint16Array;
  readonly m32: Uint32Array;
  readonly m32i: Int32Array;
  readonly m64: BigUint64Array;
  /** the run line (layout.ts RUN_*) */
  readonly run: Int32Array;
  readonly spinners: Int32Array;
  /** every pager's control block: a thread that frees a CPU rings those asleep */
  readonly pagers: readonly PagerViews[];
  /** 1 bit per frame: written since the host's last dirtyLog (layout.ts dirtyBits) */
  readonly dirty: Int32Array;
  readonly frameInfo: Int32Array;

  constructor(readonly sab: SharedArrayBuffer, readonly layout: Layout) {
    this.run = new Int32Array(sab, layout.runOff, 2);
    this.spinners = new Int32Array(sab, layout.spinnersOff, 1);
    this.pagers = Array.from({ length: layout.pagers }, (_, i) => new PagerViews(sab, layout, i));
    const off = layout.framesOff;
    const bytes = layout.frames * PAGE_SIZE;
    this.m8 = new Uint8Array(sab, off, bytes);
    this.m16 = new Uint16Array(sab, off, bytes / 2);
    this.m32 = new Uint32Array(sab, off, bytes / 4);
    this.m32i = new Int32Array(sab, off, bytes / 4);
    this.m64 = new BigUint64Array(sab, off, bytes / 8);
    this.dirty = new Int32Array(sab, layout.dirtyBitsOff, layout.bitmapWords);
    this.frameInfo = new Int32Array(sab, layout.frameInfoOff, layout.frames);
  }
}

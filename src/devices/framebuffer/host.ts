/**
 * The host's end of a framebuffer: the pixels as one live array (kernel.view, no copy), a copy of
 * them, a PNG of them, and what processes redrew since the host last asked — QEMU's VGA
 * emulation redraws from the same dirty log.
 */
import { PAGE_SIZE } from '../../constants.js';
import { hostDevice, type HostRuntime } from '../common.js';
import type { FramebufferState } from './driver.js';
import { encodePng } from './png.js';

/** Rows y .. y + height - 1, the full width of the framebuffer. */
export interface DirtyRect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export class Framebuffer {
  readonly path: string;
  readonly width: number;
  readonly height: number;
  /** bytes from one row to the next (4 * width) */
  readonly stride: number;
  /**
   * The pixels themselves, bytes R, G, B, A: a view of device memory, not a copy. What a process
   * stored is here once it has synchronised with the host (README's memory-ordering rules).
   */
  readonly pixels: Uint8Array;
  readonly #rt: HostRuntime;
  readonly #state: FramebufferState;

  constructor(rt: HostRuntime, path = '/dev/fb0') {
    const { state } = hostDevice<FramebufferState>(rt, path, 'framebuffer', 'Framebuffer');
    this.#rt = rt;
    this.#state = state;
    this.path = path;
    this.width = state.width;
    this.height = state.height;
    this.stride = state.stride;
    this.pixels = rt.kernel.view(state.kva, state.bytes);
  }

  /** A copy of the pixels (bytes R, G, B, A, row after row). */
  snapshot(): Uint8Array {
    return this.pixels.slice();
  }

  /** The pixels as a PNG file (8-bit RGBA). */
  png(): Buffer {
    return encodePng(this.width, this.height, this.pixels, this.stride);
  }

  /**
   * The rows some process wrote since the previous call (at first: since the device was
   * attached), as full-width rectangles of consecutive rows, top to bottom; [] when nothing was
   * drawn. Built from rt.kernel.dirtyLog, so it is exact to the page: a row is reported when a
   * page holding part of it was written, which is exactly the rows written when a row fills
   * whole pages (4 * width a multiple of 4096) and may add the neighbours of written rows
   * otherwise. Each call re-arms the log.
   */
  dirtyRects(): DirtyRect[] {
    const s = this.#state;
    const pages = this.#rt.kernel.dirtyLog(s.kva, s.bytes);
    const rects: DirtyRect[] = [];
    let open: DirtyRect | null = null;
    for (let pg = 0; pg < pages.length; pg++) {
      if (pages[pg] === 0) continue;
      const first = Math.floor((pg * PAGE_SIZE) / s.stride);
      const last = Math.min(s.height - 1, Math.floor(((pg + 1) * PAGE_SIZE - 1) / s.stride));
      if (open !== null && first <= open.y + open.height) {
        open.height = Math.max(open.height, last - open.y + 1);
      } else {
        open = { x: 0, y: first, width: s.width, height: last - first + 1 };
        rects.push(open);
      }
    }
    return rects;
  }
}

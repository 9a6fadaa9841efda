/**
 * The framebuffer's driver: width x height pixels of 32 bits, and a page of read-only registers
 * that say the geometry (what FBIOGET_VSCREENINFO tells a Linux program).
 *
 * Device offsets:
 *   [0, roundPage(stride * height))   the pixels, row after row, stride = 4 * width bytes; one
 *                                     physically contiguous allocation, so the host sees them as
 *                                     one array (kernel.view) with no copy
 *   [FB_REGS, FB_REGS + PAGE_SIZE)    registers (MMIO), 32-bit, read-only: FB_REG_*
 *
 * Pixel format: bytes R, G, B, A in memory (DRM_FORMAT_ABGR8888), so that one pixel is the
 * little-endian word r | g << 8 | b << 16 | a << 24 (rgba() makes it) and a PNG needs no
 * conversion.
 */
import { PAGE_SIZE, roundPage } from '../../constants.js';
import { defineDriver } from '../../driver.js';
import type { KernelApi } from '../../kernel.js';
import { configInt, configObject, ramMmap, registerRead } from '../common.js';

/** Device offset of the register page; the pixels must end below it. */
export const FB_REGS = 0x1000_0000;
/** Largest framebuffer, in bytes of pixels. */
export const FB_MAX_BYTES = FB_REGS;

/** Register byte offsets within the register page (32-bit, read-only). */
export const FB_REG_MAGIC = 0x00;
export const FB_REG_WIDTH = 0x04;
export const FB_REG_HEIGHT = 0x08;
/** bytes from one row to the next */
export const FB_REG_STRIDE = 0x0c;
/** a DRM fourcc: FB_FORMAT_ABGR8888 */
export const FB_REG_FORMAT = 0x10;
/** bytes of the pixel range to map (page-rounded) */
export const FB_REG_SIZE = 0x14;

/** FB_REG_MAGIC reads this ('FBDP' little endian): the device is a devpager framebuffer. */
export const FB_MAGIC = 0x50444246;
/** DRM_FORMAT_ABGR8888, fourcc 'AB24': bytes R, G, B, A */
export const FB_FORMAT_ABGR8888 = 0x34324241;

export interface FramebufferConfig {
  /** pixels per row (default 640) */
  width?: number;
  /** rows (default 480) */
  height?: number;
}

export interface FramebufferState {
  readonly kind: 'framebuffer';
  readonly width: number;
  readonly height: number;
  readonly stride: number;
  /** bytes of pixels (stride * height) */
  readonly bytes: number;
  /** kva of the pixels: physically contiguous */
  readonly kva: number;
}

const MAX_SIDE = 16384;

function registers(s: FramebufferState, index: number): number {
  switch (index) {
    case FB_REG_MAGIC / 4: return FB_MAGIC;
    case FB_REG_WIDTH / 4: return s.width;
    case FB_REG_HEIGHT / 4: return s.height;
    case FB_REG_STRIDE / 4: return s.stride;
    case FB_REG_FORMAT / 4: return FB_FORMAT_ABGR8888;
    case FB_REG_SIZE / 4: return roundPage(s.bytes);
    default: return 0;
  }
}

export default defineDriver<FramebufferState, FramebufferConfig | undefined>({
  name: 'framebuffer',
  attach(kernel: KernelApi, _unit: number, config: FramebufferConfig | undefined): FramebufferState {
    const c = configObject(config, 'framebuffer config', ['width', 'height']);
    const width = configInt(c, 'framebuffer config', 'width', 640, 1, MAX_SIDE);
    const height = configInt(c, 'framebuffer config', 'height', 480, 1, MAX_SIDE);
    const stride = width * 4;
    const bytes = stride * height;
    if (bytes > FB_MAX_BYTES) throw new RangeError(`framebuffer config: ${width} x ${height} pixels take ${bytes} bytes, more than the ${FB_MAX_BYTES} a framebuffer may have`);
    const kva = kernel.kmAlloc(bytes, { zero: true, contiguous: true });
    return { kind: 'framebuffer', width, height, stride, bytes, kva };
  },
  mmap: (dev, off, _prot, kernel) => ramMmap(dev.state, off, kernel),
  mmio: [
    {
      offset: FB_REGS,
      size: PAGE_SIZE,
      read: (dev, off, size) => registerRead((i) => registers(dev.state, i), off - FB_REGS, size),
    },
  ],
});

/**
 * The program's side of a framebuffer: open the device, learn its geometry from its registers,
 * map the pixels, and draw with plain stores (a TLB hit each after the first touch of a page).
 */
import { MAP_SHARED, O_RDWR, PROT_READ, PROT_WRITE } from '../../constants.js';
import { SyscallError, badRange, badType } from '../../errors.js';
import type { Process } from '../../process/types.js';
import { isTypedArray } from '../common.js';
import { FB_FORMAT_ABGR8888, FB_MAGIC, FB_REGS, FB_REG_FORMAT, FB_REG_HEIGHT, FB_REG_MAGIC, FB_REG_SIZE, FB_REG_STRIDE, FB_REG_WIDTH } from './driver.js';

/** The 32-bit pixel value for these components (0..255 each): bytes R, G, B, A in memory. */
export function rgba(r: number, g: number, b: number, a = 255): number {
  return ((a & 255) << 24 | (b & 255) << 16 | (g & 255) << 8 | (r & 255)) >>> 0;
}

function intIn(name: string, v: unknown, lo: number, hi: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw badType(name, 'an integer', v);
  if (v < lo || v > hi) throw badRange(name, `an integer in [${lo}, ${hi}]`, v);
  return v;
}

function color(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) throw badRange(name, 'a 32-bit pixel value (see rgba())', v);
  return v;
}

export class FramebufferMapping {
  readonly fd: number;
  readonly width: number;
  readonly height: number;
  /** bytes from one row to the next */
  readonly stride: number;
  /** virtual address of pixel (0, 0) */
  readonly base: number;
  readonly #p: Process;
  readonly #size: number;

  /** @internal use openFramebuffer */
  constructor(p: Process, fd: number, width: number, height: number, stride: number, size: number) {
    this.#p = p;
    this.fd = fd;
    this.width = width;
    this.height = height;
    this.stride = stride;
    this.#size = size;
    this.base = p.mmap(null, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  }

  /** Virtual address of pixel (x, y). */
  address(x: number, y: number): number {
    intIn('framebuffer x', x, 0, this.width - 1);
    intIn('framebuffer y', y, 0, this.height - 1);
    return this.base + y * this.stride + x * 4;
  }

  setPixel(x: number, y: number, value: number): void {
    this.#p.store32(this.address(x, y), color('setPixel value', value));
  }

  getPixel(x: number, y: number): number {
    return this.#p.load32(this.address(x, y));
  }

  /** Fill w x h pixels from (x, y) with one value; the rectangle must lie inside the framebuffer. */
  fillRect(x: number, y: number, w: number, h: number, value: number): void {
    intIn('fillRect x', x, 0, this.width - 1);
    intIn('fillRect y', y, 0, this.height - 1);
    intIn('fillRect width', w, 0, this.width - x);
    intIn('fillRect height', h, 0, this.height - y);
    const row = new Uint32Array(w).fill(color('fillRect value', value));
    const bytes = new Uint8Array(row.buffer);
    for (let r = 0; r < h; r++) this.#p.write(this.base + (y + r) * this.stride + x * 4, bytes);
  }

  /** Write `pixels` (32-bit values, see rgba()) into row y from column x, one copy. */
  writeRow(x: number, y: number, pixels: Uint32Array): void {
    if (!isTypedArray(pixels, 'Uint32Array')) throw badType('writeRow pixels', 'a Uint32Array', pixels);
    intIn('writeRow x', x, 0, this.width - 1);
    intIn('writeRow y', y, 0, this.height - 1);
    if (pixels.length > this.width - x) throw badRange('writeRow pixels.length', `at most ${this.width - x} (the row's end)`, pixels.length);
    this.#p.write(this.base + y * this.stride + x * 4, new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.byteLength));
  }

  /** Unmap the pixels and close the descriptor. */
  close(): void {
    this.#p.munmap(this.base, this.#size);
    this.#p.close(this.fd);
  }
}

/** The register page, read-only; a device that has none is not a framebuffer (ENODEV). */
function mapRegisters(p: Process, fd: number, path: string): number {
  try {
    return p.mmap(null, 4096, PROT_READ, MAP_SHARED, fd, FB_REGS);
  } catch (e) {
    if (e instanceof SyscallError && e.code === 'EINVAL') throw new SyscallError('open', 'ENODEV', `${path} is not a devpager framebuffer (no register page at offset 0x${FB_REGS.toString(16)})`);
    throw e;
  }
}

/**
 * Open a framebuffer and map its pixels (read-write). A path that is not a devpager framebuffer
 * fails with ENODEV; open's own errors (ENOENT, ...) come through as they are.
 */
export function openFramebuffer(p: Process, path = '/dev/fb0'): FramebufferMapping {
  if (p === null || typeof p !== 'object' || typeof p.mmap !== 'function') throw badType('openFramebuffer process', 'the Process main() received', p);
  const fd = p.open(path, O_RDWR);
  try {
    const regs = mapRegisters(p, fd, path);
    let geometry: number[];
    try {
      if (p.load32(regs + FB_REG_MAGIC) !== FB_MAGIC) throw new SyscallError('open', 'ENODEV', `${path} is not a devpager framebuffer`);
      if (p.load32(regs + FB_REG_FORMAT) !== FB_FORMAT_ABGR8888) throw new SyscallError('open', 'ENODEV', `${path}: unknown pixel format`);
      geometry = [p.load32(regs + FB_REG_WIDTH), p.load32(regs + FB_REG_HEIGHT), p.load32(regs + FB_REG_STRIDE), p.load32(regs + FB_REG_SIZE)];
    } finally {
      p.munmap(regs, 4096);
    }
    const [width, height, stride, size] = geometry;
    return new FramebufferMapping(p, fd, width, height, stride, size);
  } catch (e) {
    p.close(fd);
    throw e;
  }
}

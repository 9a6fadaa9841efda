/**
 * The NIC's driver: two virtio split virtqueues (receive queue 0, transmit queue 1, as
 * virtio-net numbers them) and their packet buffers in one physically contiguous allocation, a
 * page of registers in the manner of virtio-mmio, and a doorbell page with one doorbell per
 * queue (virtio-pci's notify area with a multiplier of 4).
 *
 * Device offsets:
 *   [0, NIC_REG_MEM_SIZE)             RAM: RX virtqueue, TX virtqueue, then 2 x queueSize buffers
 *                                     of bufferSize bytes (where: the NIC_REG_Q* registers)
 *   [NIC_REGS, + PAGE_SIZE)           registers (MMIO), 32-bit; all read-only but STATUS
 *   [NIC_NOTIFY, + PAGE_SIZE)         doorbells: store queue index q at NIC_NOTIFY + 4 q
 *
 * Writing 0 to STATUS resets the device (virtio's reset): the rings are zeroed here, on the pager,
 * and a generation word in kernel memory goes up, so the host's Nic starts its ring positions
 * over before it next looks (host.ts). The driver side then picks its features (DRIVER_FEATURES:
 * VIRTIO_RING_F_EVENT_IDX or not) and writes DRIVER_OK once its rings are set up (program.ts).
 * A reset while the host is in the middle of a batch may still see that batch's last used
 * entry published into the fresh rings; a driver resets before it uses the queues, not while.
 */
import { PAGE_SIZE } from '../../constants.js';
import { defineDriver } from '../../driver.js';
import type { KernelApi } from '../../kernel.js';
import { configInt, configObject, ramMmap, registerRead } from '../common.js';
import { MAX_QUEUE_SIZE, VIRTIO_RING_F_EVENT_IDX, vringLayout } from './virtio.js';

export const NIC_REGS = 0x1000_0000;
export const NIC_NOTIFY = NIC_REGS + PAGE_SIZE;
export const NIC_RX = 0;
export const NIC_TX = 1;

/** virtio-mmio's registers, at virtio-mmio's offsets */
export const NIC_REG_MAGIC = 0x000;
export const NIC_REG_VERSION = 0x004;
export const NIC_REG_DEVICE_ID = 0x008;
export const NIC_REG_VENDOR_ID = 0x00c;
/** the device's feature bits 0..31 (virtio-mmio's DeviceFeatures with DeviceFeaturesSel 0) */
export const NIC_REG_DEVICE_FEATURES = 0x010;
/** the driver's choice of them (DriverFeatures, DriverFeaturesSel 0) */
export const NIC_REG_DRIVER_FEATURES = 0x020;
export const NIC_REG_QUEUE_NUM_MAX = 0x034;
export const NIC_REG_STATUS = 0x070;
/** devpager's: where things are (device offsets and sizes) */
export const NIC_REG_MEM_SIZE = 0x100;
export const NIC_REG_BUF_OFFSET = 0x104;
export const NIC_REG_BUF_SIZE = 0x108;
export const NIC_REG_BUF_COUNT = 0x10c;
/** queue q: desc at NIC_REG_Q + 16 q, avail + 4, used + 8, its doorbell's device offset + 12 */
export const NIC_REG_Q = 0x110;

export const VIRTIO_MAGIC = 0x74726976; // 'virt'
export const VIRTIO_VERSION = 2;
export const VIRTIO_ID_NET = 1;
export const NIC_VENDOR = 0x50564544; // 'DEVP'

export const STATUS_ACKNOWLEDGE = 1;
export const STATUS_DRIVER = 2;
export const STATUS_DRIVER_OK = 4;
export const STATUS_FEATURES_OK = 8;

/** kernel words the host and the pagers share (not mapped to processes) */
export const CTL_STATUS = 0;
export const CTL_GENERATION = 4;
export const CTL_FEATURES = 8;

/** what the NIC offers: event indices */
export const NIC_FEATURES = 1 << VIRTIO_RING_F_EVENT_IDX;

export interface NicConfig {
  /** descriptors per queue, a power of two (default 256) */
  queueSize?: number;
  /** bytes per packet buffer, a multiple of 64 (default 2048) */
  bufferSize?: number;
}

export interface NicState {
  readonly kind: 'nic';
  readonly queueSize: number;
  readonly bufferSize: number;
  /** kva of RAM (contiguous) and its size */
  readonly kva: number;
  readonly bytes: number;
  /** device offsets of each queue's desc, avail and used rings, by queue index */
  readonly desc: readonly number[];
  readonly avail: readonly number[];
  readonly used: readonly number[];
  /** device offsets of each queue's used_event (in the avail ring) and avail_event (in the used ring) */
  readonly usedEvent: readonly number[];
  readonly availEvent: readonly number[];
  /** device offset of the first buffer; there are 2 x queueSize */
  readonly bufOffset: number;
  /** kva of the control words (CTL_*) */
  readonly ctl: number;
}

function registers(s: NicState, kernel: KernelApi, index: number): number {
  const reg = index * 4;
  if (reg >= NIC_REG_Q && reg < NIC_REG_Q + 32) {
    const q = (reg - NIC_REG_Q) >> 4;
    switch ((reg - NIC_REG_Q) & 15) {
      case 0: return s.desc[q];
      case 4: return s.avail[q];
      case 8: return s.used[q];
      default: return NIC_NOTIFY + 4 * q;
    }
  }
  switch (reg) {
    case NIC_REG_MAGIC: return VIRTIO_MAGIC;
    case NIC_REG_VERSION: return VIRTIO_VERSION;
    case NIC_REG_DEVICE_ID: return VIRTIO_ID_NET;
    case NIC_REG_VENDOR_ID: return NIC_VENDOR;
    case NIC_REG_DEVICE_FEATURES: return NIC_FEATURES;
    case NIC_REG_DRIVER_FEATURES: return kernel.atomicLoad32(s.ctl + CTL_FEATURES);
    case NIC_REG_QUEUE_NUM_MAX: return s.queueSize;
    case NIC_REG_STATUS: return kernel.atomicLoad32(s.ctl + CTL_STATUS);
    case NIC_REG_MEM_SIZE: return s.bytes;
    case NIC_REG_BUF_OFFSET: return s.bufOffset;
    case NIC_REG_BUF_SIZE: return s.bufferSize;
    case NIC_REG_BUF_COUNT: return 2 * s.queueSize;
    default: return 0;
  }
}

export default defineDriver<NicState, NicConfig | undefined>({
  name: 'nic',
  attach(kernel: KernelApi, _unit: number, config: NicConfig | undefined): NicState {
    const c = configObject(config, 'nic config', ['queueSize', 'bufferSize']);
    const queueSize = configInt(c, 'nic config', 'queueSize', 256, 2, MAX_QUEUE_SIZE);
    if ((queueSize & (queueSize - 1)) !== 0) throw new RangeError(`nic config.queueSize must be a power of two, got ${queueSize}`);
    const bufferSize = configInt(c, 'nic config', 'bufferSize', 2048, 64, 65536);
    if (bufferSize % 64 !== 0) throw new RangeError(`nic config.bufferSize must be a multiple of 64, got ${bufferSize}`);
    const ring = vringLayout(queueSize);
    const bufOffset = 2 * ring.bytes;
    const bytes = Math.ceil((bufOffset + 2 * queueSize * bufferSize) / PAGE_SIZE) * PAGE_SIZE;
    if (bytes > NIC_REGS) throw new RangeError(`nic config: ${queueSize} x 2 buffers of ${bufferSize} bytes take more than the ${NIC_REGS} bytes of RAM a NIC may have`);
    return {
      kind: 'nic',
      queueSize,
      bufferSize,
      kva: kernel.kmAlloc(bytes, { zero: true, contiguous: true }),
      bytes,
      desc: [ring.desc, ring.bytes + ring.desc],
      avail: [ring.avail, ring.bytes + ring.avail],
      used: [ring.used, ring.bytes + ring.used],
      usedEvent: [ring.usedEvent, ring.bytes + ring.usedEvent],
      availEvent: [ring.availEvent, ring.bytes + ring.availEvent],
      bufOffset,
      ctl: kernel.kmAlloc(PAGE_SIZE, { zero: true }),
    };
  },
  mmap: (dev, off, _prot, kernel) => ramMmap(dev.state, off, kernel),
  mmio: [
    {
      offset: NIC_REGS,
      size: PAGE_SIZE,
      read: (dev, off, size, kernel) => registerRead((i) => registers(dev.state, kernel, i), off - NIC_REGS, size),
      write(dev, off, size, value, kernel) {
        const s = dev.state;
        const v = Number(value) >>> 0;
        if (size !== 4) return;
        if (off - NIC_REGS === NIC_REG_DRIVER_FEATURES) {
          kernel.atomicStore32(s.ctl + CTL_FEATURES, (v & NIC_FEATURES) >>> 0);
          return;
        }
        if (off - NIC_REGS !== NIC_REG_STATUS) return; // the others are read-only
        if (v === 0) {
          // Reset: the rings go back to zero before the driver may set them up again.
          kernel.view(s.kva, s.bufOffset).fill(0);
          kernel.atomicStore32(s.ctl + CTL_FEATURES, 0);
          kernel.atomicAdd32(s.ctl + CTL_GENERATION, 1);
        }
        kernel.atomicStore32(s.ctl + CTL_STATUS, v);
      },
    },
    { offset: NIC_NOTIFY, size: PAGE_SIZE, doorbell: true },
  ],
});

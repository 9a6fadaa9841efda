/**
 * devpager/devices/nic: a network card with virtio split-ring receive and transmit queues, a
 * doorbell per queue and an interrupt (docs/devices.md, "NIC"). The default export is the
 * driver, so a device config names this module:
 *
 *   { name: 'nic', unit: 0, driver: import.meta.resolve('devpager/devices/nic'), config: { queueSize, bufferSize } }
 *
 * The host uses `Nic`, programs use `openNic`.
 */
export { default } from './driver.js';
export {
  NIC_NOTIFY, NIC_REGS, NIC_REG_BUF_COUNT, NIC_REG_BUF_OFFSET, NIC_REG_BUF_SIZE, NIC_REG_DEVICE_ID, NIC_REG_MAGIC, NIC_REG_MEM_SIZE, NIC_REG_Q,
  NIC_REG_QUEUE_NUM_MAX, NIC_REG_STATUS, NIC_REG_VENDOR_ID, NIC_REG_VERSION, NIC_RX, NIC_TX, type NicConfig, type NicState,
} from './driver.js';
export { Nic, type NicOptions, type NicStats, type PacketHandler } from './host.js';
export { NicPort, openNic, type NicPortOptions } from './program.js';
export * from './virtio.js';

/**
 * devpager/devices/framebuffer: a width x height, 32 bits per pixel framebuffer (docs/devices.md,
 * "Framebuffer"). The default export is the driver, so a device config names this module:
 *
 *   { name: 'fb', unit: 0, driver: import.meta.resolve('devpager/devices/framebuffer'), config: { width, height } }
 *
 * The host uses `Framebuffer`, programs use `openFramebuffer`.
 */
export { default } from './driver.js';
export {
  FB_FORMAT_ABGR8888, FB_MAGIC, FB_REGS, FB_REG_FORMAT, FB_REG_HEIGHT, FB_REG_MAGIC, FB_REG_SIZE, FB_REG_STRIDE, FB_REG_WIDTH,
  type FramebufferConfig, type FramebufferState,
} from './driver.js';
export { Framebuffer, type DirtyRect } from './host.js';
export { FramebufferMapping, openFramebuffer, rgba } from './program.js';
export { encodePng } from './png.js';

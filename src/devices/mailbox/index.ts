/**
 * devpager/devices/mailbox: request/reply channels, one per client process, served by the host
 * in its event loop (docs/devices.md, "Mailbox"). The default export is the driver, so a device
 * config names this module:
 *
 *   { name: 'mbox', unit: 0, driver: import.meta.resolve('devpager/devices/mailbox'), config: { channels, maxMessage } }
 *
 * The host uses `MailboxServer`, programs use `openMailbox`.
 */
export { default } from './driver.js';
export {
  MBOX_BELL, MBOX_CHANNEL0, MBOX_MAGIC, MBOX_REGS, MBOX_REG_CHANNEL0, MBOX_REG_CHANNELS, MBOX_REG_MAGIC, MBOX_REG_MAX_MESSAGE, MBOX_REG_SIZE,
  MBOX_REG_STRIDE, MBOX_REP_LEN, MBOX_REP_SEQ, MBOX_REP_STATUS, MBOX_REQUEST, MBOX_REQ_LEN, MBOX_REQ_SEQ, MBOX_WAITING, replyOffset,
  type MailboxConfig, type MailboxState,
} from './driver.js';
export { MailboxServer, type MailboxCaller, type MailboxHandler, type MailboxStats } from './host.js';
export { MailboxClient, openMailbox, type MailboxClientOptions } from './program.js';

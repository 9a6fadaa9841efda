/**
 * The SharedArrayBuffer layout: the one place that says where every shared word lives.
 *
 * The arena is one SharedArrayBuffer holding the simulated machine: control words, metadata and
 * the physical page frames. The host computes the layout once (computeLayout), writes its inputs
 * into the header, and every other thread rebuilds the same Layout from the header alone
 * (readLayout), so no offset is ever passed around separately.
 *
 * Regions, in order (every region starts on a 64-byte line; "writer" is who stores to it after
 * creation; readers never write). The rules behind the table: docs/architecture.md, "The arena".
 *
 * | region        | size                                   | writer(s)                         | what                                                   |
 * |---------------|----------------------------------------|-----------------------------------|--------------------------------------------------------|
 * | header        | 4 lines                                | host at create                    | H_* words: geometry and flags (read-only but H_WAIT)   |
 * | freeCount     | 1 line                                 | any allocator (Atomics RMW)       | frames not handed out; reservations make ENOMEM exact  |
 * | spinners      | 1 line                                 | waiting processes (Atomics RMW)   | adaptive waiters beyond the cpus spinning now (capped) |
 * | run           | 1 line                                 | processes, pagers (Atomics RMW)   | RUN_* words: CPUs processes hold, wake-ups held back   |
 * | bitmap        | ceil(nframes/32) Int32                 | any allocator (CAS per word)      | 1 bit per frame, 1 = in use                            |
 * | dirtyBits     | ceil(nframes/32) Int32                 | process threads (or), host (and)  | 1 bit per frame: written since the host's last dirtyLog |
 * | frameInfo     | nframes Int32                          | allocators, pagers (CAS)          | FI_* type bits + zombie bit + map count                |
 * | kpt           | kvaPages Int32                         | kmAlloc/kmFree (CAS claim, store) | kernel pmap: 0 free, -1 claimed, pfn+1 mapped          |
 * | kallocLen     | kvaPages Int32                         | kmAlloc/kmFree                    | at the first page of an allocation: its page count     |
 * | devices       | maxDevices lines                       | pagers, host (Atomics.add)        | D_* words: uvm_device references, interrupt count      |
 * | aobjs         | aobjs lines                            | pagers (CAS, Atomics.add)         | A_* words: shared anonymous objects (pager/aobj.ts)    |
 * | pagers        | npagers x PAGER_LINES lines            | see P_* below                     | pending bitmap, doorbell, sleeping flag, control, epoch|
 * | slots         | maxProcs x SLOT_BYTES                  | see S_* below                     | one per thread: request, reply; the address space (L1  |
 * |               |                                        |                                   | table, map entries, descriptors) lives in the slot of  |
 * |               |                                        |                                   | the process's first thread (S_VMSPACE)                 |
 * | bell          | 2 lines                                | threads (add) / host (line 1)     | doorbell posted (BELL_RING), host asleep (BELL_SLEEPING)|
 * | doorbells     | maxProcs x DB_BYTES                    | see DB_* below                    | one doorbell ring per thread, drained by the host      |
 * | counters      | nthreads x COUNTERS Float64            | the owning thread only (plain)    | C_* counters, read racily by the host                  |
 * | hists         | nthreads x NHIST x HBUCKETS Int32      | the owning thread only (plain)    | log-linear latency histograms (stats.ts)               |
 * | trace         | nthreads x (TRACE_HDR + cap*4) Float64 | the owning thread only            | trace rings (trace.ts)                                 |
 * | frames        | nframes x 4096, page aligned           | whoever maps the frame            | physical memory; PA 0 is the first byte of this region |
 *
 * Thread indices (for counters, histograms and trace rings): 0 = host, 1..npagers = pagers,
 * npagers+1+slot = the process thread in that slot.
 *
 * Beside the arena, each user slot has a TLB: a SharedArrayBuffer of its own (TLB_BYTES: one Int32
 * per virtual page for reads, one for writes), so that a pager or the host can take a translation
 * away from a thread that is not asking (src/process/tlb.ts). Untouched pages of it cost nothing.
 *
 * Why Float64 for requests and map entries: device offsets are off_t (up to 2^53 here) and kernel
 * addresses exceed 2^32, so 32-bit words would truncate them.
 */
import { PAGE_SIZE } from './constants.js';
import { waitModeOf } from './wait.js';

export const LINE = 64;
const MAGIC = 0x64657670; // 'devp'
const VERSION = 5;

// ---- header words (Int32 index) ----
export const H_MAGIC = 0;
export const H_VERSION = 1;
export const H_NFRAMES = 2;
export const H_MAXPROCS = 3;
export const H_NPAGERS = 4;
export const H_MAXDEVICES = 5;
export const H_KVAPAGES = 6;
export const H_TRACECAP = 7;
export const H_FLAGS = 8;
export const H_MAPENTRIES = 9;
export const H_SPIN = 10; // requester polls before parking
export const H_PAGER_SPIN = 11; // pager polls before parking
export const H_SPIN_BUDGET = 12; // adaptive: waiters allowed to spin at once (cores - pagers)
export const H_SAMPLE = 13; // latency timing: 1 request in this many (a power of two) is timed
export const H_QUANTUM = 14; // requests a process makes before it yields its CPU to a held waiter
/**
 * The wait strategy now (a WaitMode; H_FLAGS keeps the one the runtime was created with). The
 * only header word written after create: by the host, only while no process exists
 * (Runtime.setWaitStrategy); a process reads it when it starts, a pager each time it goes idle.
 */
export const H_WAIT = 15;
/** Float64 index of the host's performance.timeOrigin: the shared clock base (clock.ts). */
export const H_TIME_ORIGIN_F64 = 8; // byte 64: line 1 of the header
export const HEADER_BYTES = 4 * LINE;

export const FLAG_STATS = 1;
export const FLAG_TRACE = 2;
export const FLAG_COUNT_ACCESSES = 16; // (bits 2-3 are the wait strategy, wait.ts)

// ---- run line: processes holding a CPU, and the wake-ups pagers hold back (pager/runqueue.ts) ----
// RUN_ACTIVE: processes running or spinning (a process gives its CPU back while parked); a pager
//   wakes a parked process only while fewer than spinBudget hold one, and holds the wake-up
//   otherwise. RUN_HELD: answered processes whose wake-up a pager holds; a process whose quantum
//   is used up yields its CPU when this is not 0.
export const RUN_ACTIVE = 0;
export const RUN_HELD = 1;

// ---- frame info word: [31..28 type][27 zombie][26..0 map count] ----
export const FI_TYPE_SHIFT = 28;
export const FI_FREE = 0;
export const FI_KERNEL = 1;
export const FI_PT = 2;
export const FI_ANON = 3;
export const FI_ZOMBIE = 1 << 27;
export const FI_COUNT_MASK = (1 << 27) - 1;

// ---- kernel pmap ----
/**
 * Kernel virtual addresses start at kvaBase(frames): the first power of two, at least 1 GiB, at or
 * above the end of physical memory. So a KVA never equals a physical address, a driver
 * that forgets pmapExtract returns a frame outside the arena (caught), any power-of-two alignment
 * up to 1 GiB is an alignment of the page index, and for arenas up to 512 MiB every KVA is below
 * 2^31: a small integer to V8, which a driver can pass around and add to without allocating.
 */
export function kvaBase(frames: number): number {
  let b = 2 ** 30;
  while (b < frames * 4096) b *= 2;
  return b;
}
export const KPT_CLAIMED = -1;

// ---- device words (Int32 index within the device's line) ----
export const D_REFS = 0; // uvm_device uo_refs: map entries referencing this device, all processes
export const D_IRQ = 1; // interrupts raised (host Atomics.add + notify; waitInterrupt waits on it)
export const D_ATTACHES = 2; // times a uvm_device was created (udv_attach found none)
export const D_FREES = 3; // times the last reference went away and it was freed

// ---- pager control block: one kind of writer per line ----
// line 0: doorbell (requesters Atomics.add + notify, only when the pager sleeps)
// line 1: sleeping flag (pager only)
// line 2: control (host only): shutdown request, processes assigned
// line 3 (pager only, rarely): the epoch, bumped after every shootdown that retired frames
//   (pager/shootdown.ts). Every thread reads it after every request, so nothing written per
//   request may share its line.
// line 4 (pager only, every request): the request being served and the driver call in
//   progress, for the host's watchdog (runtime/pagers.ts): P_CALL_SEQ is odd while the pager
//   runs driver code.
// then the pending bitmap (+ more lines if maxProcs > 512), one bit per slot: requesters
//   Atomics.or, the pager Atomics.exchange(…, 0) to take everything queued at once.
export const PAGER_LINES = 5; // + pending lines, computed
export const P_DOORBELL = 0;
export const P_SLEEPING = 0;
export const P_SHUTDOWN = 0;
export const P_ASSIGNED = 1; // control line, host writes: live processes assigned to this pager
/**
 * control line, host writes (fault injection, for tests and the soak): INJECT_* << 24 | n; the
 * pager dies at the n-th next such point (pager.ts inject). Every point is between two changes
 * of the arena, so the replacement finds it consistent.
 */
export const P_INJECT = 2;
export const INJECT_FAULT = 1; // a fault served, its reply not yet published
export const INJECT_MMAP = 2; // an mmap done, its reply not yet published
export const INJECT_MUNMAP = 3; // a munmap done, its reply not yet published
export const INJECT_REPLY = 4; // a reply published, its thread not yet woken
export const P_EPOCH = 0; // epoch line, Int32 index
export const P_CALL_SEQ = 1; // watch line (line 4) from here on
export const P_CALL_KIND = 2; // pager/objects.ts CALL_*
export const P_CALL_SLOT = 3; // the slot whose request runs the driver, -1 for none
export const P_CALL_DEV = 4;
/** the slot whose request the pager serves now, -1 between requests (who a dead pager was serving) */
export const P_SERVING = 5;
/** Float64 index on the watch line: the device offset of the call */
export const P_CALL_OFF_F64 = 4;

// ---- slot: one per thread (pager/protocol.ts names the request and reply fields) ----
// Lines 0-1 (requester writes): the request, Float64 R_* fields.
// Line 2 (pager writes): the `done` sequence word (Int32) and the reply, Float64 RES_* fields.
// Line 3 (requester writes, except the pager's grant CAS): the park state (SLOT_PARKED),
//   the holds-a-CPU flag (SLOT_RUNNING) and SLOT_PARK_KIND. The pager reads SLOT_PARKED after
//   every reply, so nothing the requester writes per request may live on this line.
// Line 4 (host writes): S_STATUS, S_PID, S_PAGER, S_TID, S_VMSPACE, S_HOSTSEQ; S_THREAD is
//   written once by the thread at start.
// Line 5 (pager writes): S_NENTRIES.
// Line 6 (requester writes; others read it rarely): SLOT_SPINNING, S_OBS, S_TLB_LO, S_TLB_HI. Not
//   on line 3: SLOT_SPINNING's two stores per counted spin would pull that line from the pager.
// Line 7 (pagers and the host write, with Atomics.add): S_INVSEQ.
// Lines 8-15 (any thread of the process, CAS; the pager at fork): the descriptor table, FD_WORDS
//   Int32 per descriptor. Only the slot that holds the address space uses it.
// Then the thread bitmap (host writes): one bit per slot, the threads sharing this address space;
// then the L1 page directory (1024 Int32, pager writes) and the map entries (pager writes).
// SLOT_PARKED: 0 running; the request's sequence number while parked on it (its CPU given back);
//   PARK_GRANTED once a pager woke it and counted a CPU for it. The host's own slots store 1.
export const SLOT_PARKED = 0;
/**
 * 1 while the thread counts itself in RUN_ACTIVE, 0 when not; RUNNING_PREEMPTED when a pager took
 * its CPU because it made no request for PREEMPT_AFTER_MS while others waited (runqueue.ts). The
 * thread changes it with exchanges, the pager with a CAS from 1.
 */
export const SLOT_RUNNING = 2;
export const RUNNING_PREEMPTED = 2;
export const SLOT_PARK_KIND = 3; // plain store before SLOT_PARKED: PARK_* below
/** parked because the answer was late: first in line for a CPU again */
export const PARK_LATE = 0;
/** parked at the end of its quantum: the back of the line */
export const PARK_YIELD = 1;
/** parked within a quantum it got beyond `cpus` (PARK_GRANTED_OVERDUE): wake at once, like a time slice */
export const PARK_OVERDUE = 2;
export const PARK_GRANTED = -1;
/** granted beyond `cpus` because its pager saw no request for OVERDUE_AFTER_MS (runqueue.ts) */
export const PARK_GRANTED_OVERDUE = -2;
export const S_STATUS = 0; // Int32 index within line 4
export const S_PID = 1;
export const S_PAGER = 2;
export const S_THREAD = 3; // written by the process thread at start: its worker threadId
export const S_TID = 4;
/** the slot whose address space this thread uses (its own for a process's first thread) */
export const S_VMSPACE = 5;
/** sequence number of the host's last answer to this thread's host requests (process/host-channel.ts) */
export const S_HOSTSEQ = 6;
export const S_NENTRIES = 0; // Int32 index within line 5
/**
 * Int32 index within line 6: 1 while the process counts itself among the spinners (plain
 * stores; the host reads it only after the thread died, to give its place back).
 */
export const SLOT_SPINNING = 0;
/**
 * The pager epoch this thread last observed between two memory accesses, or OBS_IN_KERNEL while
 * it is parked or blocked: a frame retired at epoch e is reused once every other thread of its
 * address space shows OBS_IN_KERNEL or an epoch >= e here, or waits in a request the pager can
 * see (pager/shootdown.ts).
 */
export const S_OBS = 1;
export const OBS_IN_KERNEL = -1;
/** [S_TLB_LO, S_TLB_HI): the virtual pages whose TLB entries may differ from the reset value */
export const S_TLB_LO = 2;
export const S_TLB_HI = 3;
/** Int32 index within line 7: bumped before anyone but the thread itself changes its TLB */
export const S_INVSEQ = 0;

// ---- doorbell rings (process/device-io.ts, runtime/doorbells.ts) ----
/** entries per thread's ring; a thread that finds it full waits for the host */
export const DB_RING = 128;
/** Int32 index in the ring's two control lines: line 0 the thread writes, line 1 the host */
export const DB_TAIL = 0;
export const DB_WAITING = 1;
export const DB_HEAD = 16;
/** Float64 fields of one entry (one line each) */
export const DB_DEV = 0;
export const DB_OFF = 1;
export const DB_SIZE = 2;
export const DB_VALUE = 3;
export const DB_VALUE_HI = 4;
export const DB_PID = 5;
export const DB_ENTRY_F64 = 8;
export const DB_BYTES = 2 * 64 + DB_RING * DB_ENTRY_F64 * 8;
/** bell lines: Int32 index; BELL_RING on line 0 (threads add), BELL_SLEEPING on line 1 (host) */
export const BELL_RING = 0;
export const BELL_SLEEPING = 16;

/** descriptors per process; each is FD_WORDS Int32: FD_FILE (0 free, else FD_* bits) and FD_IRQ */
export const MAX_FDS = 64;
export const FD_WORDS = 2;
export const FD_FILE = 0;
export const FD_IRQ = 1; // the device's interrupt count this descriptor last returned (waitInterrupt)
/** FD_FILE: (device index + 1) | open mode << FD_MODE_SHIFT */
export const FD_MODE_SHIFT = 16;
export const FD_DEV_MASK = 0xffff;

export const STATUS_FREE = 0;
export const STATUS_LIVE = 1;
/** a fork's child slot while the parent's pager copies the address space into it; no thread yet */
export const STATUS_FORKING = 2;

export const L1_ENTRIES = 1024; // 4 MiB of VA each; an L2 table is one frame of 1024 PTEs
export const ENTRY_F64 = 8; // one map entry = one line of 8 Float64
// map entry fields (Float64 index within the entry)
export const E_START = 0;
export const E_END = 1;
export const E_OFFSET = 2;
export const E_OBJ = 3; // device index, or -1 for anonymous memory
export const E_PROT = 4;
export const E_MAXPROT = 5;
export const E_ADVICE = 6;
export const E_FLAGS = 7; // MAP_SHARED/MAP_PRIVATE as given (device entries are always shared), plus EF_* bits
/** E_FLAGS: inheritance at fork, MAP_INHERIT_* (2 bits) */
export const EF_INHERIT_SHIFT = 16;
export const EF_INHERIT_MASK = 3 << EF_INHERIT_SHIFT;
/** E_FLAGS: a device entry made copy-on-write by fork (minherit COPY): faults in it are EIO */
export const EF_COW = 1 << 18;

export const OBJ_ANON = -1;
/** E_OBJ of an entry mapping shared anonymous object k (pager/aobj.ts): -2 - k */
export const aobjOf = (obj: number) => -2 - obj;
export const objOfAobj = (k: number) => -2 - k;

// ---- shared anonymous objects: one line each (pager/aobj.ts) ----
/** Int32 index: map entries referencing the object (0: the line is free) */
export const A_REFS = 0;
export const A_PAGES = 1;
/** Float64 index: kernel address of the page table (one Int32 per page: pfn + 1, 0 = none yet) */
export const A_TABLE_F64 = 1;

// ---- counters: per thread, Float64, owner writes plainly ----
export const COUNTER_NAMES = [
  'faults', // faults taken (process)
  'faultsServed', // faults served (pager)
  'dmmapCalls', // calls of the driver's d_mmap (pager)
  'driverBugs', // d_mmap threw or returned something that is not -1 or a kernel frame
  'syscalls',
  'queueFullRetries', // producer found no room in its pager's queue (cannot happen: one slot per process)
  'casRetriesPte',
  'casRetriesFrame', // frame allocator and frame-info CAS retries
  'casRetriesQueue',
  'spins', // polls before a park or before the answer arrived
  'parks',
  'wakeups', // notifies sent
  'accesses', // memory accesses (countAccesses only); TLB hits = accesses - tlbMisses
  'tlbMisses',
  'tlbShootdowns', // TLB entries invalidated (batched per syscall)
  'busyNs', // pager: time spent serving requests (sampled requests, scaled by the sampling interval)
  'maxQueueDepth', // pager: most requests taken in one drain
  'requests', // pager: requests served, any kind
  'rounds', // pager: drain rounds
  'restarts', // fault routine ERESTART loops (ENOMEM waits)
  'framesFreedWhileMapped',
  'dmmapNs', // pager: time inside d_mmap (trace on)
  'queueWaitNs', // pager: time requests sat queued before service (sampled, scaled)
  'parkNs', // time parked in Atomics.wait
  'ptFrames', // page-table frames allocated
  'waitNs', // process: time waiting for fault replies (sampled, scaled); spinning = waitNs - parkNs
  'timed', // requests whose latency was timed (1 in `sample`)
  'yields', // process: parked at the end of its quantum so that a held waiter could run
  'held', // pager: wake-ups held back because processes already held every CPU (spinBudget)
  'holdTimeouts', // process: got a CPU beyond `cpus` because the running ones went quiet (runqueue.ts)
  'heldNs', // pager: time answered processes waited in its run queue for a CPU (stats on; grants only)
  'shootdowns', // pager: other threads' TLBs it took translations from (one per thread per invalidation)
  'shootdownNs', // pager: time spent taking them while the initiator waited (stats on)
  'limboFrames', // pager: frames whose reuse waited for other threads to pass a quiescent point
  'lateErrors', // process: errors raised after its program's main returned (reported, never another process's)
  'pagerRestarts', // host: pager threads replaced after they died or overran driverTimeoutMs
  'driverTimeouts', // host: driver calls that ran past driverTimeoutMs
  'mmio', // pager: register-page accesses served (driver read/write callbacks)
  'doorbells', // host: doorbell stores delivered to onDoorbell handlers
  'cowCopies', // pager: anonymous pages copied on a write after fork
  'preempted', // pager: CPUs taken from threads that held one without a request while others waited
  'shootdownOps', // pager: operations (munmap, mprotect, ..., a copy-on-write fault) that reached another thread's TLB
  'reclaimNs', // pager: time freeing frames out of limbo (stats on)
  'realmsMade', // process: threads that ran in a new program realm (process/realm.ts)
  'realmsReused', // process: threads that ran in the realm of an earlier one, which left it unchanged
] as const;
export type CounterName = (typeof COUNTER_NAMES)[number];
export const COUNTERS = 48; // slots reserved per thread (>= COUNTER_NAMES.length)
export const C: { readonly [K in CounterName]: number } = Object.fromEntries(
  COUNTER_NAMES.map((n, i) => [n, i]),
) as { [K in CounterName]: number };

// ---- histograms: per thread, NHIST histograms of HBUCKETS Int32 buckets ----
export const HIST_NAMES = ['fault', 'queueWait', 'service', 'park'] as const;
export type HistName = (typeof HIST_NAMES)[number];
export const NHIST = HIST_NAMES.length;
export const HBUCKETS = 320;

// ---- trace ring per thread: [head, dropped, ...pad to 8] then cap events of TRACE_EV Float64 ----
export const TRACE_HDR = 8;
export const TRACE_EV = 5; // kind, ts (ms), dur (ms), arg, flow id

export interface LayoutInput {
  frames: number;
  maxProcs: number;
  pagers: number;
  maxDevices: number;
  traceCap: number;
  mapEntries: number;
  flags: number;
  spin: number;
  pagerSpin: number;
  spinBudget: number;
  sample: number;
  quantum: number;
}

export interface Layout extends LayoutInput {
  nthreads: number;
  kvaPages: number;
  pendingWords: number;
  kvaBase: number;
  freeCountOff: number;
  spinnersOff: number;
  runOff: number;
  bitmapOff: number;
  bitmapWords: number;
  dirtyBitsOff: number;
  frameInfoOff: number;
  kptOff: number;
  kallocLenOff: number;
  devicesOff: number;
  aobjs: number;
  aobjsOff: number;
  pagersOff: number;
  pagerBytes: number;
  slotsOff: number;
  slotBytes: number;
  slotFdsOff: number; // within a slot
  slotThreadsOff: number; // within a slot
  slotL1Off: number; // within a slot
  slotEntriesOff: number; // within a slot
  bellOff: number;
  doorbellsOff: number;
  countersOff: number;
  histsOff: number;
  traceOff: number;
  traceBytesPerThread: number;
  framesOff: number;
  totalBytes: number;
}

const alignUp = (n: number, a: number) => Math.ceil(n / a) * a;

export function computeLayout(inp: LayoutInput): Layout {
  const { frames, maxProcs, pagers, maxDevices, traceCap, mapEntries } = inp;
  const nthreads = 1 + pagers + maxProcs;
  // Twice as many kernel pages as frames, so that VA fragmentation alone never causes ENOMEM.
  const kvaPages = 2 * frames + 64;
  const pendingWords = Math.ceil(maxProcs / 32);
  let off = HEADER_BYTES;
  const take = (bytes: number) => {
    const at = off;
    off = alignUp(off + bytes, LINE);
    return at;
  };
  const freeCountOff = take(LINE);
  const spinnersOff = take(LINE);
  const runOff = take(LINE);
  const bitmapWords = Math.ceil(frames / 32);
  const bitmapOff = take(bitmapWords * 4);
  const dirtyBitsOff = take(bitmapWords * 4);
  const frameInfoOff = take(frames * 4);
  const kptOff = take(kvaPages * 4);
  const kallocLenOff = take(kvaPages * 4);
  const devicesOff = take(maxDevices * LINE);
  // Shared anonymous objects: one per map entry at most (fork shares them), and never more than
  // frames could back; NetBSD has no such table, so it must not be what runs out first.
  const aobjs = Math.max(64, Math.min(maxProcs * mapEntries, frames));
  const aobjsOff = take(aobjs * LINE);
  const pagerBytes = (PAGER_LINES + Math.ceil((pendingWords * 4) / LINE)) * LINE;
  const pagersOff = take(pagers * pagerBytes);
  const slotFdsOff = 8 * LINE;
  const slotThreadsOff = slotFdsOff + MAX_FDS * FD_WORDS * 4;
  const slotL1Off = alignUp(slotThreadsOff + pendingWords * 4, LINE);
  const slotEntriesOff = slotL1Off + L1_ENTRIES * 4;
  const slotBytes = alignUp(slotEntriesOff + mapEntries * ENTRY_F64 * 8, LINE);
  const slotsOff = take(maxProcs * slotBytes);
  const bellOff = take(2 * LINE);
  const doorbellsOff = take(maxProcs * DB_BYTES);
  const countersOff = take(nthreads * COUNTERS * 8);
  const histsOff = take(nthreads * NHIST * HBUCKETS * 4);
  const traceBytesPerThread = alignUp((TRACE_HDR + traceCap * TRACE_EV) * 8, LINE);
  const traceOff = take(nthreads * traceBytesPerThread);
  const framesOff = alignUp(off, PAGE_SIZE);
  const totalBytes = framesOff + frames * PAGE_SIZE;
  return {
    ...inp, nthreads, kvaPages, kvaBase: kvaBase(frames), pendingWords, freeCountOff, spinnersOff, runOff, bitmapOff, bitmapWords, dirtyBitsOff, frameInfoOff,
    kptOff, kallocLenOff, devicesOff, aobjs, aobjsOff, pagersOff, pagerBytes, slotsOff, slotBytes, slotFdsOff, slotThreadsOff, slotL1Off,
    slotEntriesOff, bellOff, doorbellsOff, countersOff, histsOff, traceOff, traceBytesPerThread, framesOff, totalBytes,
  };
}

export function writeHeader(sab: SharedArrayBuffer, l: Layout, timeOrigin: number): void {
  const h = new Int32Array(sab, 0, HEADER_BYTES / 4);
  h[H_MAGIC] = MAGIC;
  h[H_VERSION] = VERSION;
  h[H_NFRAMES] = l.frames;
  h[H_MAXPROCS] = l.maxProcs;
  h[H_NPAGERS] = l.pagers;
  h[H_MAXDEVICES] = l.maxDevices;
  h[H_KVAPAGES] = l.kvaPages;
  h[H_TRACECAP] = l.traceCap;
  h[H_FLAGS] = l.flags;
  h[H_MAPENTRIES] = l.mapEntries;
  h[H_SPIN] = l.spin;
  h[H_PAGER_SPIN] = l.pagerSpin;
  h[H_SPIN_BUDGET] = l.spinBudget;
  h[H_QUANTUM] = l.quantum;
  h[H_SAMPLE] = l.sample;
  h[H_WAIT] = waitModeOf(l.flags);
  new Float64Array(sab, 0, HEADER_BYTES / 8)[H_TIME_ORIGIN_F64] = timeOrigin;
}

export function readLayout(sab: SharedArrayBuffer): Layout {
  const h = new Int32Array(sab, 0, HEADER_BYTES / 4);
  if (h[H_MAGIC] !== MAGIC || h[H_VERSION] !== VERSION) throw new Error('not a devpager arena (bad magic/version)');
  return computeLayout({
    frames: h[H_NFRAMES], maxProcs: h[H_MAXPROCS], pagers: h[H_NPAGERS], maxDevices: h[H_MAXDEVICES],
    traceCap: h[H_TRACECAP], flags: h[H_FLAGS], mapEntries: h[H_MAPENTRIES], spin: h[H_SPIN], pagerSpin: h[H_PAGER_SPIN], spinBudget: h[H_SPIN_BUDGET], sample: h[H_SAMPLE], quantum: h[H_QUANTUM],
  });
}

/** The header's words, for the readers of H_WAIT. */
export function headerView(sab: SharedArrayBuffer): Int32Array {
  return new Int32Array(sab, 0, HEADER_BYTES / 4);
}

export function headerTimeOrigin(sab: SharedArrayBuffer): number {
  return new Float64Array(sab, 0, HEADER_BYTES / 8)[H_TIME_ORIGIN_F64];
}

/** Thread index helpers (counters, histograms, trace rings). */
export const HOST_THREAD = 0;
export const pagerThread = (p: number) => 1 + p;
export const slotThread = (l: Layout, slot: number) => 1 + l.pagers + slot;

/** Virtual pages of the 32-bit user address space: entries per TLB array. */
export const VPAGES = 1 << 20;
/** One user slot's TLB buffer: reads then writes, one Int32 each per virtual page. */
export const TLB_BYTES = 2 * VPAGES * 4;

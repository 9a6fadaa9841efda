/**
 * Whether a program realm is still as it was made, so that the next process may run in it.
 *
 * A realm (process/realm.ts) costs a V8 context, its built-ins and devpager's program-side
 * modules compiled into it; thrown away after every process, that is garbage the worker must
 * collect while the next programs run, and the Process methods (process/api.ts) start cold in
 * every process. A realm whose program changed nothing that outlives the program can run the next
 * one instead: the program's own modules are evaluated afresh each time (process/loader.ts
 * forgets them), so the only state two programs could share is what this audit covers.
 *
 * At the realm's making, the audit records every object reachable from its roots (the global
 * object, the intrinsics that no property reaches, the prototypes devpager hands to programs):
 * own keys in order, each property's attributes and value (or getter and setter), the
 * prototype, extensibility. `clean()` compares them all again; any difference, anywhere, and the
 * realm is not reused. Objects the realm shares with the worker (Node's globals: Buffer, URL,
 * ...) are recorded one level deep — their own properties, the properties of the
 * objects they hold (a constructor's `prototype`), their prototype chain — when the realm is made,
 * or, for what Node loads lazily and the exports of built-in modules, when the realm first hands
 * them to a program (addShared). Since dropping the realm would not undo a change to them,
 * `restoreShared()` puts them back.
 *
 * The comparison never runs program code: it reads descriptors, never properties, and walks
 * only the objects recorded at the making (a Proxy put in their place is a changed value).
 */

type Key = string | symbol;

const { getPrototypeOf, isExtensible, ownKeys, defineProperty, deleteProperty, setPrototypeOf } = Reflect;
const getOwn = Object.getOwnPropertyDescriptor;

/** Attribute bits of a recorded property. */
const WRITABLE = 1;
const ENUMERABLE = 2;
const CONFIGURABLE = 4;
const ACCESSOR = 8;

interface Entry {
  object: object;
  shared: boolean;
  proto: object | null;
  extensible: boolean;
  keys: Key[];
  /** per key: attribute bits, then value or getter, then setter */
  props: unknown[];
}

/**
 * How deep a shared object is recorded: its own properties, and those of the objects they hold
 * (a constructor's prototype, fs.promises), and every prototype on the way.
 */
const SHARED_LEVELS = 1;

const isObject = (v: unknown): v is object => (typeof v === 'object' && v !== null) || typeof v === 'function';

function attributes(d: PropertyDescriptor): number {
  return (d.get !== undefined || d.set !== undefined || !('value' in d) ? ACCESSOR : d.writable ? WRITABLE : 0) | (d.enumerable ? ENUMERABLE : 0) | (d.configurable ? CONFIGURABLE : 0);
}

function toDescriptor(bits: number, a: unknown, b: unknown): PropertyDescriptor {
  const d: PropertyDescriptor = { enumerable: (bits & ENUMERABLE) !== 0, configurable: (bits & CONFIGURABLE) !== 0 };
  if (bits & ACCESSOR) {
    d.get = a as (() => unknown) | undefined;
    d.set = b as ((v: unknown) => void) | undefined;
  } else {
    d.value = a;
    d.writable = (bits & WRITABLE) !== 0;
  }
  return d;
}

/** A name for `o` in a warning, read from descriptors only (a getter could be the program's). */
function describe(o: object): string {
  const nameOf = (f: unknown): string | undefined => {
    const n = typeof f === 'function' ? getOwn(f, 'name')?.value : undefined;
    return typeof n === 'string' && n !== '' ? n : undefined;
  };
  if (typeof o === 'function') return `function ${nameOf(o) ?? '(anonymous)'}`;
  const ctor = nameOf(getOwn(o, 'constructor')?.value);
  return ctor !== undefined ? `${ctor}.prototype` : 'an object';
}

export class RealmAudit {
  private readonly entries: Entry[] = [];
  private readonly seen = new Set<object>();
  /** objects waiting to be recorded: [object, shared, levels of a shared object's values still followed] */
  private readonly queue: Array<[object, boolean, number]> = [];

  /**
   * @param roots objects of the realm to record, with everything they reach
   * @param own whether an object belongs to the realm (is walked fully) rather than shared with the worker
   */
  constructor(roots: readonly object[], private readonly own: (o: object) => boolean) {
    for (const r of roots) this.visit(r, true);
    this.drain();
  }

  /**
   * Record a shared object the realm was handed after it was made (a lazily loaded global, a
   * built-in module's export), before the program gets it.
   */
  addShared(o: unknown): void {
    if (!isObject(o) || this.seen.has(o)) return;
    this.seen.add(o);
    this.queue.push([o, true, SHARED_LEVELS]);
    this.drain();
  }

  /** Queue `o`, found in a property of an object that belongs to the realm (`fromOwn`) or is shared. */
  private visit(o: unknown, fromOwn: boolean, levels = SHARED_LEVELS): void {
    if (!isObject(o) || this.seen.has(o)) return;
    this.seen.add(o);
    // An object with no prototype belongs where it was found (module namespaces, Object.create(null)).
    const shared = getPrototypeOf(o) === null ? !fromOwn : !this.own(o);
    this.queue.push([o, shared, levels]);
  }

  private drain(): void {
    const q = this.queue;
    for (let i = 0; i < q.length; i++) {
      const [o, shared, levels] = q[i];
      const keys = ownKeys(o);
      const props: unknown[] = [];
      for (const k of keys) {
        const d = getOwn(o, k)!;
        const bits = attributes(d);
        props.push(bits, bits & ACCESSOR ? d.get : d.value, bits & ACCESSOR ? d.set : undefined);
        if (!shared) {
          if (bits & ACCESSOR) {
            this.visit(d.get, true);
            this.visit(d.set, true);
          } else this.visit(d.value, true);
        } else if (levels > 0 && !(bits & ACCESSOR)) this.visitShared(d.value, levels - 1);
      }
      const proto = getPrototypeOf(o);
      if (shared) this.visitShared(proto, levels);
      else this.visit(proto, true);
      this.entries.push({ object: o, shared, proto, extensible: isExtensible(o), keys, props });
    }
    q.length = 0;
  }

  /** Queue what a shared object reaches: recorded as shared, `levels` deep. */
  private visitShared(o: unknown, levels: number): void {
    if (!isObject(o) || this.seen.has(o)) return;
    this.seen.add(o);
    this.queue.push([o, true, levels]);
  }

  /** How many objects the audit covers. */
  get size(): number {
    return this.entries.length;
  }

  /** Whether every recorded object is as it was made. */
  clean(): boolean {
    for (const e of this.entries) if (!this.same(e)) return false;
    return true;
  }

  private same(e: Entry): boolean {
    const o = e.object;
    if (getPrototypeOf(o) !== e.proto || isExtensible(o) !== e.extensible) return false;
    const keys = ownKeys(o);
    if (keys.length !== e.keys.length) return false;
    const props = e.props;
    for (let i = 0; i < keys.length; i++) {
      if (keys[i] !== e.keys[i]) return false;
      const d = getOwn(o, keys[i]);
      if (d === undefined) return false;
      const bits = props[3 * i] as number;
      if (attributes(d) !== bits) return false;
      if (bits & ACCESSOR) {
        if (d.get !== props[3 * i + 1] || d.set !== props[3 * i + 2]) return false;
      } else if (!Object.is(d.value, props[3 * i + 1])) return false;
    }
    return true;
  }

  /**
   * Put the shared objects back as they were recorded: properties a program added are deleted,
   * changed ones redefined, the prototype reset. Returns a description of each object that could
   * not be (a program froze or sealed it, or made a property non-configurable).
   */
  restoreShared(): string[] {
    const stuck: string[] = [];
    for (const e of this.entries) {
      if (!e.shared || this.same(e)) continue;
      if (!this.restore(e)) stuck.push(describe(e.object));
    }
    return stuck;
  }

  private restore(e: Entry): boolean {
    const o = e.object;
    try {
      if (isExtensible(o) !== e.extensible) return false;
      if (getPrototypeOf(o) !== e.proto && !setPrototypeOf(o, e.proto)) return false;
      const recorded = new Set<Key>(e.keys);
      for (const k of ownKeys(o)) if (!recorded.has(k) && !deleteProperty(o, k)) return false;
      for (let i = 0; i < e.keys.length; i++) {
        const d = toDescriptor(e.props[3 * i] as number, e.props[3 * i + 1], e.props[3 * i + 2]);
        const now = getOwn(o, e.keys[i]);
        if (now === undefined || attributes(now) !== (e.props[3 * i] as number) || (now.get ?? now.value) !== (d.get ?? d.value) || now.set !== d.set) {
          if (!defineProperty(o, e.keys[i], d)) return false;
        }
      }
      return this.same(e);
    } catch {
      return false;
    }
  }
}

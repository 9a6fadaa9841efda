/**
 * The module loader of a program's realm (process/realm.ts): it links the program's ES modules
 * into that realm's own module map, so that module state starts fresh for every process, while
 * what holds no per-process state is shared with the worker:
 *
 *   - the program's own modules and the ES modules they import (relative, file: URLs, packages)
 *     are compiled into the realm (V8's code cache, kept per worker, makes the second compile
 *     cheap);
 *   - devpager's program-side modules (inRealm) are compiled into the realm too, so that the
 *     errors a Process throws and the classes a program imports from 'devpager' are the realm's;
 *     devpager's package root is the union of those and the worker's other exports;
 *   - Node's built-in modules and CommonJS modules come from the worker, as synthetic modules
 *     (a plain-object default export is copied, so assigning to it stays in the realm);
 *   - JSON modules are parsed into the realm.
 *
 * Resolution is Node's own (import.meta.resolve with a parent URL; the worker runs with
 * --experimental-import-meta-resolve), formats follow Node's rules (.mjs, .cjs, package "type").
 */
import { existsSync, readFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

type VmModule = vm.SourceTextModule | vm.SyntheticModule;

/** devpager's own dist/src/ directory, as a URL prefix. */
export const DEVPAGER_SRC = new URL('../', import.meta.url).href;
const DEVPAGER_INDEX = new URL('../index.js', import.meta.url).href;

/**
 * devpager modules compiled into each program realm (paths under dist/src/): the errors and
 * constants a Process uses, the Process itself, and the ready devices (their program-side
 * helpers throw errors and make arrays a program checks with instanceof).
 */
const IN_REALM = new Set(['constants.js', 'errors.js', 'process/api.js', 'process/types.js']);
const inRealm = (rel: string) => IN_REALM.has(rel) || rel.startsWith('devices/');

/** Code cache per module URL, for this worker: compiling the same module in the next realm reuses it. */
const codeCache = new Map<string, Buffer>();
const typeCache = new Map<string, 'module' | 'commonjs'>();

function packageType(dir: string): 'module' | 'commonjs' {
  const hit = typeCache.get(dir);
  if (hit) return hit;
  let t: 'module' | 'commonjs';
  const pj = join(dir, 'package.json');
  if (existsSync(pj)) {
    try {
      t = (JSON.parse(readFileSync(pj, 'utf8')) as { type?: string }).type === 'module' ? 'module' : 'commonjs';
    } catch {
      t = 'commonjs';
    }
  } else {
    const up = dirname(dir);
    t = up === dir ? 'commonjs' : packageType(up);
  }
  typeCache.set(dir, t);
  return t;
}

function formatOf(url: string): 'esm' | 'cjs' | 'json' | 'other' {
  if (!url.startsWith('file:')) return 'other';
  const path = fileURLToPath(url);
  if (path.endsWith('.mjs')) return 'esm';
  if (path.endsWith('.cjs')) return 'cjs';
  if (path.endsWith('.json')) return 'json';
  if (path.endsWith('.js')) return packageType(dirname(path)) === 'module' ? 'esm' : 'cjs';
  return 'other';
}

function shallowCopy(v: unknown): unknown {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return v;
  return Object.assign(Object.create(proto) as object, v);
}

/** Freeze a value handed from the worker to programs, so one program cannot change it for the next. */
function freezeShared(v: unknown): unknown {
  if ((typeof v === 'object' && v !== null) || typeof v === 'function') {
    Object.freeze(v);
    const proto = (v as { prototype?: unknown }).prototype;
    if (typeof v === 'function' && proto !== null && typeof proto === 'object') Object.freeze(proto);
  }
  return v;
}

export class ModuleLoader {
  private readonly modules = new Map<string, Promise<VmModule>>();
  /** modules that stay when the realm runs its next program (keep, forget) */
  private kept = new Set<string>();
  private readonly importMeta: (meta: ImportMeta, url: string) => void;

  /**
   * @param watch `shared` sees every value of the worker's a module hands the realm (a built-in's
   *   or a CommonJS module's exports), `builtin` every built-in module the realm imports
   */
  constructor(
    private readonly context: vm.Context,
    private readonly watch: { shared(v: unknown): void; builtin(url: string): void },
  ) {
    this.importMeta = (meta, url) => {
      const m = meta as unknown as Record<string, unknown>;
      m.url = url;
      if (url.startsWith('file:')) {
        m.filename = fileURLToPath(url);
        m.dirname = dirname(m.filename as string);
      }
      m.resolve = (spec: string) => this.resolve(String(spec), url);
    };
  }

  /**
   * The modules loaded so far are devpager's own, loaded before any program: they stay when the
   * realm runs another program (their state is audited, process/realm-audit.ts).
   */
  keep(): void {
    this.kept = new Set(this.modules.keys());
  }

  /** Forget every module but the kept ones: the next program evaluates its modules afresh. */
  forget(): void {
    for (const url of [...this.modules.keys()]) if (!this.kept.has(url)) this.modules.delete(url);
  }

  /** Node's resolution of `spec` from `parent`. */
  resolve(spec: string, parent: string): string {
    if (isBuiltin(spec)) return spec.startsWith('node:') ? spec : `node:${spec}`;
    if (spec.startsWith('./') || spec.startsWith('../') || spec.startsWith('/') || spec.startsWith('file:')) return new URL(spec, parent).href;
    return import.meta.resolve(spec, parent);
  }

  /** Load, link and evaluate the module at `url` in the realm; resolves with its namespace. */
  async import(url: string): Promise<Record<string, unknown>> {
    const m = await this.ready(await this.load(url));
    return m.namespace as Record<string, unknown>;
  }

  /** Link and evaluate `m` unless that is done (or under way: a cycle through packageRoot). */
  private async ready(m: VmModule): Promise<VmModule> {
    if (m.status === 'unlinked') await m.link((spec, ref) => this.linked(spec, ref));
    if (m.status === 'linked') await m.evaluate();
    else if (m.status === 'errored') throw m.error;
    return m;
  }

  private linked(spec: string, ref: vm.Module): Promise<VmModule> {
    return this.load(this.resolve(spec, ref.identifier));
  }

  private load(url: string): Promise<VmModule> {
    let p = this.modules.get(url);
    if (!p) {
      p = this.create(url);
      this.modules.set(url, p);
    }
    return p;
  }

  private async create(url: string): Promise<VmModule> {
    const ctx = this.context;
    if (url.startsWith(DEVPAGER_SRC)) {
      const rel = url.slice(DEVPAGER_SRC.length);
      if (inRealm(rel)) return this.compile(url);
      if (url === DEVPAGER_INDEX) return this.packageRoot();
      return this.synthetic(url, await import(url), true);
    }
    if (url.startsWith('node:')) {
      this.watch.builtin(url);
      return this.synthetic(url, await import(url), false);
    }
    const format = formatOf(url);
    if (format === 'esm') return this.compile(url);
    if (format === 'json') {
      const value = vm.runInContext(`JSON.parse(${JSON.stringify(readFileSync(fileURLToPath(url), 'utf8'))})`, ctx) as unknown;
      return new vm.SyntheticModule(['default'], function () {
        this.setExport('default', value);
      }, { context: ctx, identifier: url });
    }
    // CommonJS and anything else Node can import: the worker's instance.
    return this.synthetic(url, await import(url), false);
  }

  private compile(url: string): vm.SourceTextModule {
    const source = readFileSync(fileURLToPath(url), 'utf8');
    // A module compiled from the cache finds its import() callback by the id of the module the
    // cache was made from (Node 20), which is gone: "A dynamic import callback was not specified".
    const cacheable = !source.includes('import(');
    const cachedData = cacheable ? codeCache.get(url) : undefined;
    const m = new vm.SourceTextModule(source, {
      context: this.context,
      identifier: url,
      cachedData,
      initializeImportMeta: (meta) => this.importMeta(meta, url),
      importModuleDynamically: (async (spec: string, ref: vm.Module) => this.ready(await this.load(this.resolve(spec, ref.identifier)))) as unknown as vm.SourceTextModuleOptions['importModuleDynamically'],
    });
    if (cacheable && cachedData === undefined) codeCache.set(url, (m as unknown as { createCachedData(): Buffer }).createCachedData());
    return m;
  }

  private synthetic(url: string, ns: Record<string, unknown>, freeze: boolean): vm.SyntheticModule {
    const names = Object.keys(ns);
    const watch = this.watch;
    return new vm.SyntheticModule(names, function () {
      for (const n of names) {
        const v = n === 'default' ? shallowCopy(ns[n]) : ns[n];
        if (!freeze) watch.shared(ns[n]);
        this.setExport(n, freeze ? freezeShared(v) : v);
      }
    }, { context: this.context, identifier: url });
  }

  /**
   * 'devpager' itself: the realm's own constants, errors and Process types, and the worker's
   * instance of everything else (defineDriver, Runtime, ...), frozen.
   */
  private async packageRoot(): Promise<vm.SyntheticModule> {
    const main = (await import(DEVPAGER_INDEX)) as Record<string, unknown>;
    const own: Record<string, unknown> = {};
    for (const rel of ['constants.js', 'errors.js']) {
      const ns = await this.import(DEVPAGER_SRC + rel);
      for (const [k, v] of Object.entries(ns)) own[k] = v;
    }
    const names = Object.keys(main);
    return new vm.SyntheticModule(names, function () {
      for (const n of names) this.setExport(n, n in own ? own[n] : freezeShared(main[n]));
    }, { context: this.context, identifier: DEVPAGER_INDEX });
  }
}

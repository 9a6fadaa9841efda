/**
 * Piscina's entry for process threads. CommonJS on purpose: piscina loads the file it is given
 * with require() first, and on Node 20 a require() of an ES module goes through a module facade
 * that aborts the whole Node process if it fails to instantiate (CI, once, while a test tore its
 * runtime down: "Assertion failed: facade->InstantiateModule(...)" in
 * ModuleWrap::CreateRequiredModuleFacade, SIGABRT, from piscina's worker.js require()). A
 * CommonJS file is required plainly, and the ES module (workers/process-worker.ts) comes in
 * through import(), which reports failure as a rejected promise.
 */
type Run = typeof import('./process-worker.js').default;
let run: Promise<Run> | undefined;

export = function processEntry(task: Parameters<Run>[0]): ReturnType<Run> {
  run ??= import('./process-worker.js').then((m) => m.default);
  return run.then((r) => r(task));
};

/**
 * rt.writeProfile(): the report of a runtime written to files — any subset of an HTML page, a
 * Chrome trace (streamed from the rings), the report's data as JSON, and the text report. The
 * trace goes first, so the report can state the file's real size per second of run.
 */
import { writeFile } from 'node:fs/promises';
import type { ProfileReport } from '../report/types.js';
import { renderHtmlReport } from '../report/html.js';
import { renderTextReport } from '../report/text.js';
import { profileOf, type ProfileOptions } from './collect.js';
import type { ProfileSource } from './source.js';
import { writeTraceFile, type TraceFileStats } from './trace-file.js';

export interface ProfilePaths {
  /** self-contained HTML report */
  html?: string;
  /** Chrome Trace Event JSON (opens in ui.perfetto.dev); needs { trace: true } */
  trace?: string;
  /** the report's data as JSON (without the timeline's events) */
  json?: string;
  /** the text report */
  text?: string;
}

export interface WrittenProfile {
  report: ProfileReport;
  /** the files written, by kind */
  files: ProfilePaths;
  trace?: TraceFileStats;
}

const KINDS = ['html', 'trace', 'json', 'text'] as const;

export async function writeProfile(src: ProfileSource, paths: ProfilePaths, opts: ProfileOptions = {}): Promise<WrittenProfile> {
  if (paths === null || typeof paths !== 'object') throw new TypeError(`writeProfile(paths): expected an object { html, trace, json, text } of file paths, got ${String(paths)}`);
  for (const k of Object.keys(paths)) {
    if (!(KINDS as readonly string[]).includes(k)) throw new TypeError(`writeProfile: unknown output '${k}' (have: ${KINDS.join(', ')})`);
    const v = (paths as Record<string, unknown>)[k];
    if (v !== undefined && (typeof v !== 'string' || v === '')) throw new TypeError(`writeProfile: paths.${k} must be a file path, got ${JSON.stringify(v)}`);
  }
  if (paths.trace && !src.options.trace) throw new Error('writeProfile: a trace file needs tracing: create the Runtime with { trace: true }');
  const report = profileOf(src, opts);
  const files: ProfilePaths = {};
  let trace: TraceFileStats | undefined;
  if (paths.trace) {
    trace = await writeTraceFile(src, paths.trace);
    files.trace = paths.trace;
    if (report.trace) {
      report.trace.file = paths.trace;
      report.trace.fileBytes = trace.bytes;
      if (trace.events > 0) {
        report.trace.fileBytesPerEvent = trace.bytes / trace.events;
        report.trace.fileBytesEstimated = false;
      }
    }
  }
  if (paths.html) {
    await writeFile(paths.html, renderHtmlReport(report));
    files.html = paths.html;
  }
  if (paths.json) {
    await writeFile(paths.json, JSON.stringify({ ...report, timeline: undefined }, null, 1));
    files.json = paths.json;
  }
  if (paths.text) {
    await writeFile(paths.text, renderTextReport(report));
    files.text = paths.text;
  }
  return { report, files, trace };
}

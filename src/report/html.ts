/**
 * The HTML report of `devpager profile`: one self-contained page (inline CSS and SVG, no external
 * resources, no script).
 */
import { fmtNs } from '../util/format.js';
import { histogramChart } from './histogram-chart.js';
import { lineChart, sweepSeries, sweepTasks } from './line-chart.js';
import { fmtHotValue, histSummary, pct, traceSummaryText } from './summary.js';
import { esc, WAIT_COLORS } from './svg-kit.js';
import { stackedBar, threadTimeFractions, TIME_PARTS } from './thread-time-chart.js';
import { timelineChart } from './timeline-chart.js';
import type { HotItem, ProfileReport } from './types.js';


const CSS = `
*{box-sizing:border-box}
body{margin:0;background:#f4f5f7;color:#1d1f23;font:14px/1.45 system-ui,-apple-system,"Segoe UI","DejaVu Sans",Helvetica,Arial,sans-serif}
main{max-width:1320px;margin:0 auto;padding:20px 24px 40px}
header h1{font-size:22px;margin:0 0 2px}
header .meta{color:#666;font-size:12px}
.verdict{margin:14px 0 18px;padding:14px 18px;background:#fff4e5;border-left:6px solid #e8890c;border-radius:6px;font-size:18px;font-weight:600;color:#4a2c00}
.verdict small{display:block;font-size:11px;font-weight:500;letter-spacing:.06em;text-transform:uppercase;color:#9a6210;margin-bottom:2px}
section{background:#fff;border:1px solid #e2e4e8;border-radius:8px;padding:14px 16px;margin:0 0 16px}
section h2{font-size:15px;margin:0 0 10px;color:#333}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:16px}
.grid>section{margin:0}
.row{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
svg.chart{display:block;max-width:100%;height:auto}
table{border-collapse:collapse;font-size:12.5px;width:100%}
th,td{padding:3px 8px;text-align:right;border-bottom:1px solid #eee;white-space:nowrap}
th{background:#f7f7f9;font-weight:600;color:#444}
th:first-child,td:first-child{text-align:left}
td.l,th.l{text-align:left}
td.num{font-variant-numeric:tabular-nums}
.sw{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:-1px;border:1px solid #0002}
.bar{position:relative;min-width:120px}
.bar i{position:absolute;left:0;top:3px;bottom:3px;background:#4e79a733;border-right:2px solid #4e79a7}
.bar span{position:relative}
.hot td.label{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:12px;max-width:360px;overflow:hidden;text-overflow:ellipsis}
.kv{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;font-size:12.5px}
.kv dt{color:#666}.kv dd{margin:0;font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;word-break:break-all}
.note{color:#666;font-size:12px;margin:6px 0 0}
.findings{margin:0;padding-left:20px;font-size:13px}
.tt th,.tt td{padding:3px 6px}
.tt th{white-space:normal;vertical-align:bottom}
.mini{flex:0 1 390px}
.mini h3{font-size:13px;margin:0 0 4px;color:#444;font-weight:600}
`;


function hotTable(title: string, items: HotItem[], id: string): string {
  if (items.length === 0) return `<section class="hot" id="${esc(id)}"><h2>${esc(title)}</h2><p class="note">none recorded</p></section>`;
  const max = Math.max(...items.map((i) => i.value), 0) || 1;
  let rows = '';
  items.forEach((it, i) => {
    rows +=
      `<tr><td class="num">${i + 1}</td><td class="label l" title="${esc(it.label)}">${esc(it.label)}</td>` +
      `<td class="bar num"><i style="width:${((100 * Math.max(0, it.value)) / max).toFixed(1)}%"></i><span>${esc(fmtHotValue(it))}</span></td></tr>`;
  });
  return (
    `<section class="hot" id="${esc(id)}"><h2>${esc(title)}</h2><table><thead><tr><th>#</th><th class="l">${id === 'hot-pages' ? 'page' : 'queue'}</th><th>value</th></tr></thead>` +
    `<tbody>${rows}</tbody></table></section>`
  );
}

function kv(rec: Record<string, string | number | boolean>): string {
  const keys = Object.keys(rec);
  if (keys.length === 0) return '<p class="note">none</p>';
  return `<dl class="kv">${keys.map((k) => `<dt>${esc(k)}</dt><dd>${esc(rec[k])}</dd>`).join('')}</dl>`;
}

function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'h';
}

/** Other findings, the round-trip breakdown, the tracing overhead and the trace's size. */
function findingsList(r: ProfileReport): string {
  const items: string[] = [];
  for (const f of (r.findings ?? []).slice(1)) items.push(`<li>also: ${esc(f)}</li>`);
  if (r.breakdown && r.breakdown !== r.verdict) items.push(`<li>round trip: ${esc(r.breakdown)}</li>`);
  if (r.shootdowns) items.push(`<li>TLB shootdowns: ${esc(r.shootdowns)}</li>`);
  if (r.overhead) items.push(`<li id="overhead">${esc(r.overhead.text)}</li>`);
  if (r.trace) items.push(`<li id="trace-size">${esc(traceSummaryText(r.trace))}</li>`);
  else if (r.trace === null) items.push('<li id="trace-size">tracing was off: no hot pages and no timeline</li>');
  return items.length ? `<section id="findings"><ul class="findings">${items.join('')}</ul></section>` : '';
}

/** Renders the whole profile as one self-contained HTML document. */
export function renderHtmlReport(r: ProfileReport): string {
  const threadRows = r.threadTimes
    .map((t) => {
      const fr = threadTimeFractions(t);
      return (
        `<tr><td>${esc(t.thread)}</td><td class="l">${esc(t.role)}</td><td class="num">${esc(fmtNs(t.totalNs))}</td>` +
        fr.map((f) => `<td class="num">${f.frac > 0 ? pct(f.frac) : '–'}</td>`).join('') +
        '</tr>'
      );
    })
    .join('');
  const threadHead =
    '<tr><th>thread</th><th class="l">role</th><th>total</th>' +
    TIME_PARTS.map((p) => `<th><span class="sw" style="background:${p.color}"></span>${esc(p.label)}</th>`).join('') +
    '</tr>';

  const series = sweepSeries(r.sweep);
  const tasks = sweepTasks(r.sweep);
  const waits = [...new Set(r.sweep.map((p) => p.wait))];
  const sweepNote =
    r.sweep.length === 0
      ? 'no sweep was run'
      : `${r.sweep.length} runs; workload ${[...new Set(r.sweep.map((p) => p.workload))].join(', ')}; ` +
        `pagers ${[...new Set(r.sweep.map((p) => p.pagers))].join(', ')}; wait strategies ` +
        waits.map((w) => `<span class="sw" style="background:${WAIT_COLORS[w] ?? '#888'}"></span>${esc(w)}`).join(' ');

  const extra = (r.extraHistograms ?? [])
    .map(
      (h) =>
        `<div class="mini"><h3>${esc(h.name)}</h3>${histogramChart(h, { id: `hist-${slug(h.name)}`, title: h.name, width: 390, height: 220, color: '#76b7b2', heading: false })}` +
        `<p class="note">${esc(histSummary(h))}</p></div>`,
    )
    .join('');

  const counters = Object.keys(r.counters);
  const counterTable =
    counters.length === 0
      ? '<p class="note">none</p>'
      : `<table><tbody>${counters.map((k) => `<tr><td>${esc(k)}</td><td class="num">${esc(r.counters[k]!.toLocaleString('en-US'))}</td></tr>`).join('')}</tbody></table>`;

  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(r.title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
<header><h1>${esc(r.title)}</h1><div class="meta">generated ${esc(r.generatedAt)}</div></header>
<div class="verdict" id="verdict"><small>main contention point</small>${esc(r.verdict)}</div>
${findingsList(r)}

<section id="thread-time"><h2>Where each thread's time goes</h2>
<div class="row"><div style="flex:0 1 560px">${stackedBar(r.threadTimes, { width: 560, heading: false })}</div>
<div style="flex:1 1 600px;overflow-x:auto"><table class="tt">${threadHead}${threadRows}</table></div></div>
</section>

<div class="grid">
${hotTable('Hottest pages', r.hotPages, 'hot-pages')}
${hotTable('Hottest queues', r.hotQueues, 'hot-queues')}
</div>
<div style="height:16px"></div>

<div class="grid">
<section id="latency-section"><h2>Fault latency</h2>
${histogramChart(r.latency, { id: 'latency', title: r.latency.name, width: 600, height: 300, heading: false })}
<p class="note">${esc(histSummary(r.latency))}</p></section>
<section id="throughput-section"><h2>Throughput vs ${tasks}</h2>
${lineChart(series, { id: 'throughput', title: `Faults per second by ${tasks === 'threads' ? 'thread' : 'process'} count`, xLabel: tasks, yLabel: 'faults / s', width: 600, height: 300, logX: true, heading: false })}
<p class="note">${sweepNote}</p></section>
</div>
<div style="height:16px"></div>
${extra ? `<section id="extra-histograms"><h2>Other distributions</h2><div class="row">${extra}</div></section>` : ''}

<section id="timeline-section"><h2>Per-thread timeline</h2>
${timelineChart(r.timeline.threads, r.timeline.events, { width: 1240, heading: false })}
</section>

<div class="grid">
<section id="counters"><h2>Counters</h2>${counterTable}</section>
<section id="run"><h2>Run</h2><h3 style="font-size:13px;margin:0 0 4px">machine</h3>${kv(r.machine)}<h3 style="font-size:13px;margin:10px 0 4px">options</h3>${kv(r.options)}</section>
</div>
</main>
</body>
</html>
`;
}

// framebuffer-picture.mjs — the host: N processes draw into one framebuffer; the host watches the
// rows they redraw (dirty rectangles) and writes the picture as a PNG.
//
//   node examples/framebuffer-picture.mjs [processes] [out.png]
import { writeFileSync } from 'node:fs';
import { Runtime } from 'devpager';
import { Framebuffer } from 'devpager/devices/framebuffer';

const n = Number(process.argv[2] ?? 4);
const out = process.argv[3] ?? 'framebuffer.png';

const rt = await Runtime.create({
  memory: 32 << 20,
  devices: [{ name: 'fb', unit: 0, driver: import.meta.resolve('devpager/devices/framebuffer'), config: { width: 640, height: 480 } }],
});
try {
  const fb = new Framebuffer(rt, '/dev/fb0');
  const draw = new URL('./framebuffer-draw.mjs', import.meta.url);
  const procs = Array.from({ length: n }, (_, k) => rt.spawn(draw, k, n));
  let running = true;
  const all = Promise.all(procs.map((h) => h.exited)).finally(() => (running = false));
  let redrawn = 0;
  while (running) {
    // What a display would repaint: the rows written since the previous look.
    for (const r of fb.dirtyRects()) redrawn += r.height;
    await new Promise((r) => setTimeout(r, 20));
  }
  for (const st of await all) console.log(st.result ?? st.error);
  for (const r of fb.dirtyRects()) redrawn += r.height;
  writeFileSync(out, fb.png());
  console.log(`${redrawn} rows repainted from dirty rectangles while ${n} processes drew; wrote ${out}`);
} finally {
  await rt.close();
}

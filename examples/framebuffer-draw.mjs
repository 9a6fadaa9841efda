// framebuffer-draw.mjs — a process: draws its share of the Mandelbrot set into /dev/fb0.
// Process k of n draws the bands of 8 rows whose number is k modulo n.
import { openFramebuffer, rgba } from 'devpager/devices/framebuffer';

export default function main(p, k, n) {
  const fb = openFramebuffer(p, '/dev/fb0');
  const row = new Uint32Array(fb.width);
  for (let y = 0; y < fb.height; y++) {
    if (Math.floor(y / 8) % n !== k) continue;
    for (let x = 0; x < fb.width; x++) row[x] = color(x, y, fb.width, fb.height);
    fb.writeRow(0, y, row); // one copy of the whole row into the mapped pixels
  }
  fb.close();
  return `process ${k} drew its rows`;
}

function color(x, y, w, h) {
  const cx = -0.65 + ((x - w / 2) / h) * 2.5;
  const cy = ((y - h / 2) / h) * 2.5;
  let zx = 0, zy = 0, i = 0;
  const max = 256;
  for (; i < max && zx * zx + zy * zy < 256; i++) [zx, zy] = [zx * zx - zy * zy + cx, 2 * zx * zy + cy];
  if (i === max) return rgba(0, 0, 0);
  const t = Math.sqrt((i + 1 - Math.log2(Math.log2(zx * zx + zy * zy) / 2)) / 64); // smooth colouring
  // a cosine palette: deep blue through gold to white
  const c = (phase) => Math.round(255 * (0.5 + 0.5 * Math.cos(6.2832 * (t + phase))));
  return rgba(c(0.55), c(0.65), c(0.8));
}

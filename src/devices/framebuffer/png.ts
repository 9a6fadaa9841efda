/**
 * A PNG encoder for RGBA8888 pixels, with node:zlib and nothing else: signature, IHDR (8-bit
 * RGBA, no interlace), one IDAT with every row filtered None, IEND; each chunk with its CRC-32
 * (PNG spec, ISO/IEC 15948, sections 5 and 11).
 */
import { deflateSync } from 'node:zlib';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

let crcTable: Int32Array | null = null;

/** CRC-32 (ISO 3309, the one PNG and zlib use) of `bytes`. */
export function crc32(bytes: Uint8Array, crc = 0): number {
  let t = crcTable;
  if (t === null) {
    t = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      t[n] = c;
    }
    crcTable = t;
  }
  let c = ~crc;
  for (let i = 0; i < bytes.length; i++) c = t[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/**
 * Encode width x height pixels, `stride` bytes apart row to row, bytes R, G, B, A each, as a
 * PNG file.
 */
export function encodePng(width: number, height: number, pixels: Uint8Array, stride = width * 4): Buffer {
  const row = width * 4;
  if (pixels.length < stride * (height - 1) + row) throw new RangeError(`encodePng: ${pixels.length} bytes cannot hold ${width} x ${height} pixels at stride ${stride}`);
  const raw = Buffer.alloc((row + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (row + 1)] = 0; // filter type None
    raw.set(pixels.subarray(y * stride, y * stride + row), y * (row + 1) + 1);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // colour type: truecolour with alpha
  ihdr[10] = 0; // compression: deflate
  ihdr[11] = 0; // filter method 0
  ihdr[12] = 0; // no interlace
  return Buffer.concat([Buffer.from(SIGNATURE), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0))]);
}

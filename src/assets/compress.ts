/**
 * Precompression for the build. Fixed levels and a zeroed gzip header make the `.br` and `.gz`
 * siblings byte-identical from one build to the next (and from one machine to the next).
 */
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const COMPRESSIBLE = /\.(?:m?js|css|map|json|svg|html?|txt|xml|wasm|webmanifest|ico|ttf|otf)$/i;

/** Whether a build output is worth precompressing (text-like or known to shrink). */
export function isCompressible(file: string): boolean {
  return COMPRESSIBLE.test(file);
}

/** Brotli at maximum quality: it runs once per build, and the result is served many times. */
export function brotli(data: Uint8Array): Buffer {
  return brotliCompressSync(data, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
      [constants.BROTLI_PARAM_SIZE_HINT]: data.byteLength,
    },
  });
}

/** gzip at level 9 with mtime 0 and the OS byte pinned to "Unix", so output is reproducible. */
export function gzip(data: Uint8Array): Buffer {
  const out = gzipSync(data, { level: 9 });
  // Bytes 4-7 are MTIME (zlib writes 0); byte 9 is the OS, which zlib derives from the platform.
  out.writeUInt32LE(0, 4);
  out[9] = 3;
  return out;
}

// BLAKE2b with a chosen digest length (RFC 7693), for the `blake2_256_digest` twine sends
// with every upload. node:crypto only offers BLAKE2b-512, and BLAKE2b-256 is not a truncated
// BLAKE2b-512 (the digest length is part of the parameter block), so this is a small
// streaming implementation over 32-bit word pairs. Unkeyed only.

const IV32 = new Uint32Array([
  0xf3bcc908, 0x6a09e667, 0x84caa73b, 0xbb67ae85, 0xfe94f82b, 0x3c6ef372, 0x5f1d36f1, 0xa54ff53a,
  0xade682d1, 0x510e527f, 0x2b3e6c1f, 0x9b05688c, 0xfb41bd6b, 0x1f83d9ab, 0x137e2179, 0x5be0cd19,
]);

// Message word schedule for the 12 rounds, pre-doubled to index the 32-bit word pairs.
const SIGMA2 = new Uint8Array(
  [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
    14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3,
    11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4,
    7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8,
    9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13,
    2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9,
    12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11,
    13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10,
    6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5,
    10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0,
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
    14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3,
  ].map((x) => x * 2),
);

export class Blake2b {
  private readonly h = new Uint32Array(16);
  private readonly block = new Uint8Array(128);
  private filled = 0;
  /** Bytes compressed so far (a double is exact far beyond any upload size). */
  private counter = 0;
  private done = false;

  constructor(private readonly outputLength = 32) {
    if (!Number.isInteger(outputLength) || outputLength < 1 || outputLength > 64) {
      throw new RangeError("BLAKE2b digest length must be 1..64 bytes");
    }
    this.h.set(IV32);
    this.h[0] = this.h[0]! ^ 0x01010000 ^ outputLength;
  }

  update(data: Uint8Array): this {
    if (this.done) throw new Error("digest already computed");
    let i = 0;
    while (i < data.length) {
      // The last block is compressed in digest() with the final flag, so a full block
      // is only compressed once more input follows it.
      if (this.filled === 128) {
        this.counter += 128;
        this.compress(false);
        this.filled = 0;
      }
      const n = Math.min(128 - this.filled, data.length - i);
      this.block.set(data.subarray(i, i + n), this.filled);
      this.filled += n;
      i += n;
    }
    return this;
  }

  digest(): Buffer;
  digest(encoding: "hex"): string;
  digest(encoding?: "hex"): Buffer | string {
    if (this.done) throw new Error("digest already computed");
    this.done = true;
    this.counter += this.filled;
    this.block.fill(0, this.filled);
    this.compress(true);
    const out = Buffer.alloc(this.outputLength);
    for (let i = 0; i < this.outputLength; i++) out[i] = this.h[i >> 2]! >>> (8 * (i & 3));
    return encoding === "hex" ? out.toString("hex") : out;
  }

  private compress(last: boolean): void {
    compressBlock(this.h, this.block, this.counter, last);
  }
}

// Scratch state shared by every hasher: compression is synchronous, so no two calls
// interleave, and module-level typed arrays keep the hot loop free of property lookups.
const v = new Int32Array(32);
const m = new Int32Array(32);

function compressBlock(h: Uint32Array, block: Uint8Array, counter: number, last: boolean): void {
  for (let i = 0; i < 16; i++) {
    v[i] = h[i]!;
    v[i + 16] = IV32[i]!;
  }
  v[24] = v[24]! ^ (counter % 0x100000000);
  v[25] = v[25]! ^ Math.floor(counter / 0x100000000);
  if (last) {
    v[28] = ~v[28]!;
    v[29] = ~v[29]!;
  }
  for (let i = 0; i < 32; i++) {
    const j = 4 * i;
    m[i] = block[j]! ^ (block[j + 1]! << 8) ^ (block[j + 2]! << 16) ^ (block[j + 3]! << 24);
  }
  for (let r = 0; r < 12; r++) {
    const s = r * 16;
    mix(0, 8, 16, 24, SIGMA2[s]!, SIGMA2[s + 1]!);
    mix(2, 10, 18, 26, SIGMA2[s + 2]!, SIGMA2[s + 3]!);
    mix(4, 12, 20, 28, SIGMA2[s + 4]!, SIGMA2[s + 5]!);
    mix(6, 14, 22, 30, SIGMA2[s + 6]!, SIGMA2[s + 7]!);
    mix(0, 10, 20, 30, SIGMA2[s + 8]!, SIGMA2[s + 9]!);
    mix(2, 12, 22, 24, SIGMA2[s + 10]!, SIGMA2[s + 11]!);
    mix(4, 14, 16, 26, SIGMA2[s + 12]!, SIGMA2[s + 13]!);
    mix(6, 8, 18, 28, SIGMA2[s + 14]!, SIGMA2[s + 15]!);
  }
  for (let i = 0; i < 16; i++) h[i] = h[i]! ^ v[i]! ^ v[i + 16]!;
}

/** 64-bit v[a] += v[b] + m[x] on word pairs (low word first), in int32 arithmetic so V8
 * keeps every value unboxed; a carry is an unsigned wrap of the low word. */
function add3(a: number, b: number, x: number): void {
  const a0 = v[a]!;
  let lo = (a0 + v[b]!) | 0;
  let hi = (v[a + 1]! + v[b + 1]! + ((lo >>> 0) < (a0 >>> 0) ? 1 : 0)) | 0;
  const l1 = lo;
  lo = (lo + m[x]!) | 0;
  hi = (hi + m[x + 1]! + ((lo >>> 0) < (l1 >>> 0) ? 1 : 0)) | 0;
  v[a] = lo;
  v[a + 1] = hi;
}

/** 64-bit v[a] += v[b]. */
function add2(a: number, b: number): void {
  const a0 = v[a]!;
  const lo = (a0 + v[b]!) | 0;
  v[a + 1] = (v[a + 1]! + v[b + 1]! + ((lo >>> 0) < (a0 >>> 0) ? 1 : 0)) | 0;
  v[a] = lo;
}

/** The G function; rotations by 32, 24, 16 and 63 bits on word pairs. */
function mix(a: number, b: number, c: number, d: number, x: number, y: number): void {
  add3(a, b, x);
  let lo = v[d]! ^ v[a]!;
  let hi = v[d + 1]! ^ v[a + 1]!;
  v[d] = hi;
  v[d + 1] = lo;
  add2(c, d);
  lo = v[b]! ^ v[c]!;
  hi = v[b + 1]! ^ v[c + 1]!;
  v[b] = (lo >>> 24) ^ (hi << 8);
  v[b + 1] = (hi >>> 24) ^ (lo << 8);
  add3(a, b, y);
  lo = v[d]! ^ v[a]!;
  hi = v[d + 1]! ^ v[a + 1]!;
  v[d] = (lo >>> 16) ^ (hi << 16);
  v[d + 1] = (hi >>> 16) ^ (lo << 16);
  add2(c, d);
  lo = v[b]! ^ v[c]!;
  hi = v[b + 1]! ^ v[c + 1]!;
  v[b] = (hi >>> 31) ^ (lo << 1);
  v[b + 1] = (lo >>> 31) ^ (hi << 1);
}

/** BLAKE2b-256 of a buffer, hex: what twine sends as `blake2_256_digest`. */
export function blake2b256Hex(data: Uint8Array): string {
  return new Blake2b(32).update(data).digest("hex");
}

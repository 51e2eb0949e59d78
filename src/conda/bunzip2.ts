// A streaming bzip2 decoder, pure TypeScript, for reading `.tar.bz2` conda packages as they
// are received. compress.ts's bz2Decompress (compressjs) and bzip2.ts (the `bzip2` program)
// both want the whole file at once; an upload can be gigabytes, and only its first megabytes
// (info/) are wanted. Input is pushed in chunks of any size; output is handed over in pieces
// of at most OUTPUT_PIECE bytes as each block is decoded, so a caller that counts what it
// receives can stop a bomb after the first piece too many (one block expands to ~46 MB at most).
//
// Every block's CRC and each stream's combined CRC are checked: a decoded byte that is wrong
// is an error, never data. Concatenated streams (pbzip2, lbzip2) are read as one.

/** Why a bzip2 stream could not be decoded; `truncated` when the input ended inside it. */
export class Bzip2Error extends Error {
  constructor(
    message: string,
    readonly truncated = false,
  ) {
    super(message);
    this.name = "Bzip2Error";
  }
}

const OUTPUT_PIECE = 64 * 1024;
const BLOCK_MAGIC_HI = 0x314159;
const BLOCK_MAGIC_LO = 0x265359;
const EOS_MAGIC_HI = 0x177245;
const EOS_MAGIC_LO = 0x385090;
const MAX_GROUPS = 6;
const MAX_ALPHA = 258;
const MAX_CODE_LEN = 20;
const GROUP_SIZE = 50;
const MAX_SELECTORS = 2 + 900_000 / GROUP_SIZE;

// Thrown inside a decoding step when the input pushed so far ends before the step does; the
// step is then retried from its start once more input is there.
const NEED_MORE: unique symbol = Symbol("need more input");

/** bzip2's CRC: CRC-32 with polynomial 0x04c11db7, most significant bit first. */
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 24;
    for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
    t[i] = c >>> 0;
  }
  return t;
})();

type State = "stream-header" | "block" | "after-stream";

export class Bunzip2 {
  private input: Uint8Array = new Uint8Array(0);
  /** Next unread byte of `input`; bits of the byte before it may still be in `bitBuf`. */
  private pos = 0;
  private bitBuf = 0;
  private bitCount = 0;
  private state: State = "stream-header";
  private level = 0;
  private streamCrc = 0;
  private ended = false;
  private stopped = false;
  private tt: Uint32Array | null = null;
  private readonly out = new Uint8Array(OUTPUT_PIECE);

  /** @param onOutput receives decoded bytes (a view valid only during the call); may throw to stop. */
  constructor(private readonly onOutput: (bytes: Uint8Array) => void) {}

  /** Decodes as much of the input so far as it can. */
  push(chunk: Uint8Array): void {
    if (this.ended) throw new Error("push after end");
    if (chunk.length === 0) return;
    const rest = this.input.subarray(this.pos);
    const joined = new Uint8Array(rest.length + chunk.length);
    joined.set(rest, 0);
    joined.set(chunk, rest.length);
    this.input = joined;
    this.pos = 0;
    // Each block needs its whole compressed size (at most ~level*100 kB plus tables) in hand:
    // wait for that much before trying, so a block is not decoded again and again.
    if (this.state === "block" && this.input.length < this.level * 100_000 + 64 * 1024) return;
    this.run();
  }

  /** Decodes nothing more after the current block (its CRC is still checked): the caller has what it wanted. */
  stop(): void {
    this.stopped = true;
  }

  /** Decodes the rest; throws if the input ended inside a stream or has bytes after one. */
  end(): void {
    this.ended = true;
    this.run();
    if (this.state === "after-stream" || this.stopped) return;
    if (this.level === 0) throw new Bzip2Error("the input is empty", true);
    throw new Bzip2Error("the bzip2 stream ends early: the file is truncated", true);
  }

  private run(): void {
    while (!this.stopped) {
      const saved = { pos: this.pos, bitBuf: this.bitBuf, bitCount: this.bitCount };
      try {
        if (!this.step()) return;
      } catch (err) {
        if (err !== NEED_MORE) throw err;
        this.pos = saved.pos;
        this.bitBuf = saved.bitBuf;
        this.bitCount = saved.bitCount;
        if (this.ended) throw new Bzip2Error("the bzip2 stream ends early: the file is truncated", true);
        return;
      }
    }
  }

  /** One step of the state machine; false when nothing more can be done now. */
  private step(): boolean {
    switch (this.state) {
      case "stream-header": {
        if (this.pos >= this.input.length && this.bitCount === 0) return false;
        const b = this.bits(8);
        const z = this.bits(8);
        const h = this.bits(8);
        const level = this.bits(8) - 0x30;
        if (b !== 0x42 || z !== 0x5a || h !== 0x68 || level < 1 || level > 9) {
          throw new Bzip2Error(this.level === 0 ? "not bzip2-compressed data" : "bytes after the end of the bzip2 stream");
        }
        this.level = level;
        this.streamCrc = 0;
        this.state = "block";
        return true;
      }
      case "block": {
        const hi = this.bits(24);
        const lo = this.bits(24);
        if (hi === BLOCK_MAGIC_HI && lo === BLOCK_MAGIC_LO) {
          this.decodeBlock();
          return true;
        }
        if (hi === EOS_MAGIC_HI && lo === EOS_MAGIC_LO) {
          const combined = (this.bits(16) * 0x10000 + this.bits(16)) >>> 0;
          if (combined !== this.streamCrc) throw new Bzip2Error("bzip2 stream CRC mismatch: the data is corrupt");
          this.bitCount = 0; // streams end on a byte boundary
          this.bitBuf = 0;
          this.state = "after-stream";
          return true;
        }
        throw new Bzip2Error("corrupt bzip2 data (no block or end-of-stream marker)");
      }
      case "after-stream": {
        if (this.pos >= this.input.length) return false;
        // A concatenated stream, or garbage, which stream-header refuses.
        this.state = "stream-header";
        return true;
      }
    }
  }

  private bits(n: number): number {
    while (this.bitCount < n) {
      if (this.pos >= this.input.length) throw NEED_MORE;
      this.bitBuf = ((this.bitBuf << 8) | this.input[this.pos++]!) >>> 0;
      this.bitCount += 8;
    }
    this.bitCount -= n;
    // n <= 24, so bitBuf never holds more than 31 bits.
    const v = (this.bitBuf >>> this.bitCount) & ((1 << n) - 1);
    this.bitBuf &= (1 << this.bitCount) - 1;
    return v;
  }

  private bit(): number {
    return this.bits(1);
  }

  private decodeBlock(): void {
    const blockCrc = (this.bits(16) * 0x10000 + this.bits(16)) >>> 0;
    if (this.bit()) throw new Bzip2Error("randomised bzip2 blocks are not supported");
    const origPtr = this.bits(24);

    // The symbols in use.
    const inUse16 = this.bits(16);
    const seqToUnseq = new Uint8Array(256);
    let nInUse = 0;
    for (let i = 0; i < 16; i++) {
      if (inUse16 & (0x8000 >> i)) {
        const bitsUsed = this.bits(16);
        for (let j = 0; j < 16; j++) if (bitsUsed & (0x8000 >> j)) seqToUnseq[nInUse++] = i * 16 + j;
      }
    }
    if (nInUse === 0) throw new Bzip2Error("corrupt bzip2 block (no symbols)");
    const alphaSize = nInUse + 2;

    // Huffman tables and the selectors choosing one per 50 symbols.
    const nGroups = this.bits(3);
    if (nGroups < 2 || nGroups > MAX_GROUPS) throw new Bzip2Error("corrupt bzip2 block (tables)");
    let nSelectors = this.bits(15);
    if (nSelectors < 1) throw new Bzip2Error("corrupt bzip2 block (selectors)");
    const selectorMtf = new Uint8Array(Math.min(nSelectors, MAX_SELECTORS));
    for (let i = 0; i < nSelectors; i++) {
      let j = 0;
      while (this.bit()) {
        j++;
        if (j >= nGroups) throw new Bzip2Error("corrupt bzip2 block (selectors)");
      }
      if (i < MAX_SELECTORS) selectorMtf[i] = j;
    }
    nSelectors = selectorMtf.length;
    const groupOrder = [0, 1, 2, 3, 4, 5].slice(0, nGroups);
    const selectors = new Uint8Array(nSelectors);
    for (let i = 0; i < nSelectors; i++) {
      const v = selectorMtf[i]!;
      const g = groupOrder[v]!;
      groupOrder.splice(v, 1);
      groupOrder.unshift(g);
      selectors[i] = g;
    }

    const tables: HuffmanTable[] = [];
    const lengths = new Uint8Array(MAX_ALPHA);
    for (let t = 0; t < nGroups; t++) {
      let curr = this.bits(5);
      for (let i = 0; i < alphaSize; i++) {
        for (;;) {
          if (curr < 1 || curr > MAX_CODE_LEN) throw new Bzip2Error("corrupt bzip2 block (code lengths)");
          if (!this.bit()) break;
          curr += this.bit() ? -1 : 1;
        }
        lengths[i] = curr;
      }
      tables.push(huffmanTable(lengths, alphaSize));
    }

    // Symbols: move-to-front indexes with runs of the front byte coded as RUNA/RUNB. The bit
    // reader's state is kept in locals here (the hot loop), and put back before returning.
    const maxBlock = this.level * 100_000;
    const tt = this.tt && this.tt.length >= maxBlock ? this.tt : (this.tt = new Uint32Array(maxBlock));
    const counts = new Uint32Array(256);
    const mtf = new Uint8Array(256);
    for (let i = 0; i < 256; i++) mtf[i] = i;
    const eob = nInUse + 1;
    const input = this.input;
    let pos = this.pos;
    let bitBuf = this.bitBuf;
    let bitCount = this.bitCount;
    let nblock = 0;
    let groupIndex = -1;
    let groupLeft = 0;
    let table = tables[0]!;
    let runLength = 0;
    let runWeight = 1;
    for (;;) {
      if (groupLeft === 0) {
        groupIndex++;
        if (groupIndex >= nSelectors) throw new Bzip2Error("corrupt bzip2 block (selectors run out)");
        groupLeft = GROUP_SIZE;
        table = tables[selectors[groupIndex]!]!;
      }
      groupLeft--;
      // Decode one symbol: look up the next LOOKUP_BITS bits, then go on bit by bit for
      // longer codes. Near the end of the input there may be fewer bits than a lookup takes.
      while (bitCount < 24 && pos < input.length) {
        bitBuf = ((bitBuf << 8) | input[pos++]!) >>> 0;
        bitCount += 8;
      }
      let sym: number;
      let len: number;
      if (bitCount >= LOOKUP_BITS) {
        const entry = table.lookup[(bitBuf >>> (bitCount - LOOKUP_BITS)) & LOOKUP_MASK]!;
        if (entry !== 0) {
          len = entry & 0x1f;
          sym = entry >>> 5;
          bitCount -= len;
          bitBuf &= (1 << bitCount) - 1;
        } else {
          len = LOOKUP_BITS + 1;
          sym = -1;
        }
      } else {
        len = table.minLen;
        sym = -1;
      }
      if (sym < 0) {
        for (;;) {
          if (len > table.maxLen) throw new Bzip2Error("corrupt bzip2 block (bad Huffman code)");
          if (bitCount < len) {
            if (pos >= input.length) throw NEED_MORE;
            bitBuf = ((bitBuf << 8) | input[pos++]!) >>> 0;
            bitCount += 8;
            continue;
          }
          const code = (bitBuf >>> (bitCount - len)) & ((1 << len) - 1);
          if (code <= table.limit[len]!) {
            const index = code - table.base[len]!;
            if (index < 0 || index >= table.perm.length) throw new Bzip2Error("corrupt bzip2 block (bad Huffman code)");
            sym = table.perm[index]!;
            bitCount -= len;
            bitBuf &= (1 << bitCount) - 1;
            break;
          }
          len++;
        }
      }
      if (sym <= 1) {
        // RUNA (0) adds 1×weight, RUNB (1) adds 2×weight; weights double.
        if (runWeight > 1 << 21) throw new Bzip2Error("corrupt bzip2 block (run too long)");
        runLength += (sym + 1) * runWeight;
        runWeight <<= 1;
        continue;
      }
      if (runLength > 0) {
        if (nblock + runLength > maxBlock) throw new Bzip2Error("corrupt bzip2 block (too long)");
        const byte = seqToUnseq[mtf[0]!]!;
        counts[byte]! += runLength;
        tt.fill(byte, nblock, nblock + runLength);
        nblock += runLength;
        runLength = 0;
        runWeight = 1;
      }
      if (sym === eob) break;
      if (nblock >= maxBlock) throw new Bzip2Error("corrupt bzip2 block (too long)");
      let index = sym - 1;
      const front = mtf[index]!;
      if (index < 16) {
        for (; index > 0; index--) mtf[index] = mtf[index - 1]!;
      } else mtf.copyWithin(1, 0, index);
      mtf[0] = front;
      const byte = seqToUnseq[front]!;
      counts[byte]!++;
      tt[nblock++] = byte;
    }
    this.pos = pos;
    this.bitBuf = bitBuf;
    this.bitCount = bitCount;
    if (origPtr >= nblock) throw new Bzip2Error("corrupt bzip2 block (origin pointer)");

    // The block's compressed bits are all read: nothing below can ask for more input, so the
    // output may be handed over as it is made.
    // Inverse Burrows-Wheeler: each entry's upper 24 bits link to the next.
    let sum = 0;
    const start = new Uint32Array(256);
    for (let i = 0; i < 256; i++) {
      start[i] = sum;
      sum += counts[i]!;
    }
    for (let i = 0; i < nblock; i++) {
      const byte = tt[i]! & 0xff;
      tt[start[byte]!]! |= i << 8;
      start[byte]!++;
    }

    // Undo the initial run-length coding (4 equal bytes, then a count), checking the CRC.
    let crc = 0xffffffff;
    let link = tt[origPtr]! >>> 8;
    let last = -1;
    let same = 0;
    const out = this.out;
    let outLen = 0;
    for (let i = 0; i < nblock; i++) {
      const entry = tt[link]!;
      let byte = entry & 0xff;
      link = entry >>> 8;
      let times = 1;
      if (same === 4) {
        times = byte;
        byte = last;
        same = 0;
        last = -1;
      } else if (byte === last) same++;
      else {
        last = byte;
        same = 1;
      }
      for (; times > 0; times--) {
        crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ byte) & 0xff]!) >>> 0;
        out[outLen++] = byte;
        if (outLen === OUTPUT_PIECE) {
          outLen = 0;
          this.onOutput(out);
        }
      }
    }
    if (outLen > 0) this.onOutput(out.subarray(0, outLen));
    crc = ~crc >>> 0;
    if (crc !== blockCrc) throw new Bzip2Error("bzip2 block CRC mismatch: the data is corrupt");
    this.streamCrc = (((this.streamCrc << 1) | (this.streamCrc >>> 31)) ^ crc) >>> 0;
  }
}

const LOOKUP_BITS = 10;
const LOOKUP_MASK = (1 << LOOKUP_BITS) - 1;

interface HuffmanTable {
  /** For each LOOKUP_BITS-bit prefix: symbol << 5 | code length, or 0 for a longer code. */
  lookup: Uint32Array;
  minLen: number;
  maxLen: number;
  /** Largest code of each length (-1 when none). */
  limit: Int32Array;
  /** First code of each length minus its first index in perm. */
  base: Int32Array;
  /** Symbols ordered by code length, then by symbol. */
  perm: Uint16Array;
}

/** Canonical Huffman decoding table from code lengths. */
function huffmanTable(lengths: Uint8Array, alphaSize: number): HuffmanTable {
  let minLen = MAX_CODE_LEN;
  let maxLen = 0;
  for (let i = 0; i < alphaSize; i++) {
    minLen = Math.min(minLen, lengths[i]!);
    maxLen = Math.max(maxLen, lengths[i]!);
  }
  const perm = new Uint16Array(alphaSize);
  let p = 0;
  for (let len = minLen; len <= maxLen; len++) for (let s = 0; s < alphaSize; s++) if (lengths[s] === len) perm[p++] = s;
  const limit = new Int32Array(MAX_CODE_LEN + 2).fill(-1);
  const base = new Int32Array(MAX_CODE_LEN + 2);
  let code = 0;
  let index = 0;
  for (let len = minLen; len <= maxLen; len++) {
    let n = 0;
    for (let s = 0; s < alphaSize; s++) if (lengths[s] === len) n++;
    base[len] = code - index;
    code += n;
    index += n;
    limit[len] = code - 1;
    code <<= 1;
  }
  const lookup = new Uint32Array(1 << LOOKUP_BITS);
  for (let len = minLen; len <= Math.min(maxLen, LOOKUP_BITS); len++) {
    for (let i = 0; i < perm.length; i++) {
      const sym = perm[i]!;
      if (lengths[sym] !== len) continue;
      // Canonical codes: symbols of one length take consecutive codes, in perm's order.
      const c = base[len]! + i;
      const span = 1 << (LOOKUP_BITS - len);
      for (let k = 0; k < span; k++) lookup[(c << (LOOKUP_BITS - len)) + k] = (sym << 5) | len;
    }
  }
  return { lookup, minLen, maxLen, limit, base, perm };
}

/**
 * Whether `tail` (the last bytes of a file, at least 11) ends like a bzip2 stream: the
 * end-of-stream marker and CRC, then fewer than 8 zero bits. A cheap truncation check for a
 * file whose end was not decoded.
 */
export function endsLikeBzip2(tail: Uint8Array): boolean {
  if (tail.length < 11) return false;
  let v = 0n;
  for (const b of tail.subarray(tail.length - 11)) v = (v << 8n) | BigInt(b);
  for (let pad = 0n; pad < 8n; pad++) {
    if ((v & ((1n << pad) - 1n)) !== 0n) continue;
    const magic = (v >> (pad + 32n)) & 0xffffffffffffn;
    if (magic === 0x177245385090n) return true;
  }
  return false;
}

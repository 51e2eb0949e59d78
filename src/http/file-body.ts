// Writing a large local file to a Node response at the runtime's limit, with memory bounded
// however many clients are slow. The read size adapts per response: every few milliseconds
// the rate the client takes bytes at is measured, and a read holds about READ_MS of them
// (a power of two from MIN_READ to MAX_READ), so a fast client gets 1 MiB reads (few
// syscalls, few event-loop turns) and a slow one holds two small buffers. Buffers come from a pool of power-of-two sizes and go back
// once the socket has taken their bytes (no garbage per chunk, no fresh pages to fault in),
// and the bytes all responses hold at once are bounded by BUDGET: over it, nobody grows.
// One read is kept ahead of the socket, so the disk read and the socket write overlap.
import { close as fsClose, readv as fsReadv } from "node:fs";
import type { ServerResponse } from "node:http";

export const MIN_READ = 64 * 1024;
export const START_READ = 128 * 1024;
export const MAX_READ = 1024 * 1024;
/** Bytes of read buffers all responses may hold at once before reads stop growing. */
export const BUDGET = 32 * 1024 * 1024;
/** Free buffers kept for reuse, in bytes. */
const POOL_BYTES = 8 * 1024 * 1024;
/** A read aims to hold this many milliseconds of the client's bytes: 1 MiB from ~64 MB/s up,
 * 64 KiB below ~8 MB/s. */
const READ_MS = 16;
/** How often the client's rate is measured. */
const RATE_WINDOW_MS = 10;
/** Pieces of one read of ranges (kept ranges and the gaps between them), well under IOV_MAX. */
const MAX_PIECES = 512;

/** Where a read of ranges puts the bytes between them: nobody reads it, so one serves every
 * response at once. */
let scratch: Buffer | undefined;

const free = new Map<number, Buffer[]>();
let pooled = 0;
/** Bytes of buffers taken and not yet given back (the in-flight total that BUDGET bounds). */
let held = 0;

function take(size: number): Buffer {
  held += size;
  const list = free.get(size);
  const b = list?.pop();
  if (b) {
    pooled -= size;
    return b;
  }
  return Buffer.allocUnsafeSlow(size);
}

/** A buffer whose bytes nobody reads any more: back to the pool, or to the GC. */
function give(b: Buffer): void {
  held -= b.length;
  if (pooled + b.length > POOL_BYTES) return;
  let list = free.get(b.length);
  if (!list) free.set(b.length, (list = []));
  list.push(b);
  pooled += b.length;
}

/** The power-of-two read size nearest below `want`, within MIN_READ..MAX_READ, and not
 * above `room` (what BUDGET has left) unless that is MIN_READ. */
export function sizeFor(want: number, room: number): number {
  let size = MIN_READ;
  while (size * 2 <= want && size * 2 <= room && size < MAX_READ) size *= 2;
  return size;
}

/** The next read size for a response reading `size` now, whose client took `rate` bytes per
 * millisecond since the last look, while all responses hold `held` bytes: about READ_MS of the
 * client's bytes; a dip to no less than half the size does not shrink it (a fast client on a
 * busy machine loses the CPU for a few milliseconds now and then). */
export function nextReadSize(size: number, rate: number, held: number): number {
  const want = rate * READ_MS;
  if (want < size && want * 2 >= size && held <= BUDGET) return size;
  return sizeFor(want, BUDGET - held);
}

/** For tests and metrics: the bytes held by responses in flight, and kept for reuse. */
export function fileBodyMemory(): { held: number; pooled: number } {
  return { held, pooled };
}

/**
 * Write `length` bytes of `fd` from `start` to `res` (its head already set, not yet sent),
 * then end it. Owns the descriptor: it is closed when the body is done or the client leaves.
 * `onRead` sees the size of each read (tests watch the size adapt).
 */
export function writeFileBody(res: ServerResponse, fd: number, start: number, length: number, onRead?: (size: number) => void): void {
  writeFileRanges(res, fd, length > 0 ? [start, start + length] : [], onRead);
}

/**
 * Write the byte ranges `ranges` of `fd` (flat [start, end, ...], end exclusive, ascending and
 * apart) to `res` in order, then end it: a view kept as the stored file without its cuts. The
 * file is read straight through from the first range on, in the adaptive reads above, each read
 * one preadv that scatters the kept ranges one after the other into the buffer and the bytes
 * between them (a few % of a cut view) into a scratch buffer: the buffer holds the view's bytes
 * as read, with no second pass over them on the event loop (moving the kept bytes together cost
 * it ~20 ms per 258 MB view), and leaves in one write. A gap longer than the read ends it, and the
 * next read starts after the gap. One read per read size, as for one range, where a read per kept
 * range would cost thousands of thread-pool round trips. Owns the descriptor as writeFileBody does.
 */
export function writeFileRanges(res: ServerResponse, fd: number, ranges: ArrayLike<number>, onRead?: (size: number) => void): void {
  /** The range `pos` is in (or the next one), as an index into `ranges`. */
  let r = 0;
  let pos = ranges.length > 0 ? ranges[0]! : 0;
  const end = ranges.length > 0 ? ranges[ranges.length - 1]! : 0;
  let size = START_READ;
  let reading = false;
  /** A chunk read and not yet written (waits for the socket to drain). */
  let ready: { buf: Buffer; n: number } | null = null;
  /** Bytes handed to the socket, and the mark the client's rate is measured from. */
  let written = 0;
  let markAt = 0;
  let markBytes = 0;
  let draining = false;
  let closed = false;
  let fdOpen = true;
  /** Buffers handed to the socket whose write callback has not come yet. */
  const writing = new Set<Buffer>();

  const closeFd = () => {
    if (!fdOpen) return;
    fdOpen = false;
    fsClose(fd, () => undefined);
  };

  const finish = () => {
    closed = true;
    if (ready) {
      give(ready.buf);
      ready = null;
    }
    // a buffer the socket never confirmed is left to the GC (it may still be referenced)
    for (const b of writing) held -= b.length;
    writing.clear();
    if (!reading) closeFd();
  };
  res.once("close", finish);

  /**
   * Where one read from `pos` (within a range) puts the file's bytes, in file order: up to `size`
   * kept bytes into `buf` one after the other, the gaps between ranges into the scratch buffer
   * (`gap` marks them). Stops before a gap longer than `size` or past MAX_PIECES pieces.
   */
  const layout = (buf: Buffer): { pieces: Buffer[]; gap: boolean[]; filled: number } => {
    scratch ??= Buffer.allocUnsafeSlow(MAX_READ);
    const pieces: Buffer[] = [];
    const gap: boolean[] = [];
    let filled = 0;
    let at = pos;
    for (let i = r; i < ranges.length && filled < size; i += 2) {
      if (at < ranges[i]!) {
        const skip = ranges[i]! - at;
        if (skip > size || pieces.length + 2 > MAX_PIECES) break;
        pieces.push(scratch.subarray(0, skip));
        gap.push(true);
        at = ranges[i]!;
      }
      const n = Math.min(ranges[i + 1]! - at, size - filled);
      pieces.push(buf.subarray(filled, filled + n));
      gap.push(false);
      filled += n;
      at += n;
    }
    return { pieces, gap, filled };
  };

  const readNext = () => {
    reading = true;
    // over the budget nobody grows, and a large buffer gives way to a small one
    if (held + size > BUDGET) size = MIN_READ;
    // a gap between ranges is skipped
    if (r < ranges.length && pos < ranges[r]!) pos = ranges[r]!;
    const start = pos;
    const buf = take(size);
    const { pieces, gap, filled } = layout(buf);
    onRead?.(filled);
    fsReadv(fd, pieces, start, (err, n) => {
      reading = false;
      if (closed) {
        give(buf);
        closeFd();
        return;
      }
      if (err || n === 0) {
        give(buf);
        // the file failed or shrank: the length is promised, so the only honest end is a cut
        res.destroy(err ?? new Error("file shrank while being sent"));
        return;
      }
      // the kept bytes among the n read (all of them unless the read came back short)
      let kept = 0;
      for (let i = 0, left = n; i < pieces.length && left > 0; i++) {
        const got = Math.min(pieces[i]!.length, left);
        if (!gap[i]) kept += got;
        left -= got;
      }
      pos = start + n;
      while (r < ranges.length && ranges[r + 1]! <= pos) r += 2;
      if (r >= ranges.length) pos = end;
      if (kept === 0) {
        give(buf);
        pump();
        return;
      }
      ready = { buf, n: kept };
      pump();
    });
  };

  /** Every RATE_WINDOW_MS at most: the rate the client took bytes at since the last mark
   * (bytes that left the process, so a kernel buffer filling up counts only once) sets the
   * size of the next reads to about READ_MS of those bytes. */
  const adapt = () => {
    const now = performance.now();
    if (now - markAt < RATE_WINDOW_MS) return;
    const flushed = written - res.writableLength;
    const rate = (flushed - markBytes) / (now - markAt);
    markAt = now;
    markBytes = flushed;
    size = nextReadSize(size, rate, held);
  };

  const onDrain = () => {
    draining = false;
    adapt();
    pump();
  };

  const pump = (): void => {
    if (closed) return;
    if (ready && !draining) {
      const { buf, n } = ready;
      ready = null;
      writing.add(buf);
      // the client's rate is measured from the first byte on (not from the open)
      if (written === 0) markAt = performance.now();
      written += n;
      const ok = res.write(n === buf.length ? buf : buf.subarray(0, n), () => {
        if (writing.delete(buf)) give(buf);
      });
      adapt();
      if (!ok) {
        draining = true;
        res.once("drain", onDrain);
      }
    }
    if (pos >= end) {
      if (!reading && !ready) {
        closeFd();
        res.end();
      }
      return;
    }
    // one read ahead of the socket: read while the previous chunk drains
    if (!reading && !ready) readNext();
  };

  if (pos >= end) {
    closeFd();
    res.end();
    return;
  }
  readNext();
}

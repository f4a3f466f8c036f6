import { FormatError } from './errors.js';
import type { ByteSource } from './source.js';

const WINDOW = 1 << 16;

/**
 * Sequential little-endian reads for parsing headers, through a window over a ByteSource: the
 * header is read in chunks as it is parsed, never more than the file holds.
 */
export class Cursor {
  pos: number;
  private window: Uint8Array = new Uint8Array(0);
  private view = new DataView(this.window.buffer);
  private windowStart = 0;

  constructor(
    readonly source: ByteSource,
    start = 0,
  ) {
    this.pos = start;
  }

  get remaining(): number {
    return this.source.size - this.pos;
  }

  fail(reason: string): never {
    throw new FormatError(this.source.path, reason);
  }

  /** Makes bytes [pos, pos + n) readable and returns their offset within the window. */
  private need(n: number, what: string): number {
    if (n > this.remaining)
      this.fail(
        `truncated: ${what} needs ${n} bytes at offset ${this.pos}, file ends at ${this.source.size}`,
      );
    const rel = this.pos - this.windowStart;
    if (rel < 0 || rel + n > this.window.byteLength) {
      const len = Math.min(Math.max(n, WINDOW), this.remaining);
      this.window = this.source.read(this.pos, len);
      this.view = new DataView(this.window.buffer, this.window.byteOffset, this.window.byteLength);
      this.windowStart = this.pos;
      return 0;
    }
    return rel;
  }

  u8(what = 'u8'): number {
    const o = this.need(1, what);
    this.pos += 1;
    return this.view.getUint8(o);
  }
  i8(what = 'i8'): number {
    const o = this.need(1, what);
    this.pos += 1;
    return this.view.getInt8(o);
  }
  u16(what = 'u16'): number {
    const o = this.need(2, what);
    this.pos += 2;
    return this.view.getUint16(o, true);
  }
  i16(what = 'i16'): number {
    const o = this.need(2, what);
    this.pos += 2;
    return this.view.getInt16(o, true);
  }
  u32(what = 'u32'): number {
    const o = this.need(4, what);
    this.pos += 4;
    return this.view.getUint32(o, true);
  }
  i32(what = 'i32'): number {
    const o = this.need(4, what);
    this.pos += 4;
    return this.view.getInt32(o, true);
  }
  u64(what = 'u64'): bigint {
    const o = this.need(8, what);
    this.pos += 8;
    return this.view.getBigUint64(o, true);
  }
  i64(what = 'i64'): bigint {
    const o = this.need(8, what);
    this.pos += 8;
    return this.view.getBigInt64(o, true);
  }
  f32(what = 'f32'): number {
    const o = this.need(4, what);
    this.pos += 4;
    return this.view.getFloat32(o, true);
  }
  f64(what = 'f64'): number {
    const o = this.need(8, what);
    this.pos += 8;
    return this.view.getFloat64(o, true);
  }

  /** A u64 count or length that must fit a safe integer and not exceed `limit`. */
  u64AsNumber(what: string, limit = Number.MAX_SAFE_INTEGER): number {
    const v = this.u64(what);
    if (v > BigInt(limit)) this.fail(`${what} is ${v}, more than the ${limit} the file can hold`);
    return Number(v);
  }

  bytes(n: number, what = 'bytes'): Uint8Array {
    const o = this.need(n, what);
    this.pos += n;
    return this.window.slice(o, o + n);
  }

  utf8(n: number, what: string): string {
    const raw = this.bytes(n, what);
    try {
      return DECODER.decode(raw);
    } catch {
      return this.fail(`${what} at offset ${this.pos - n} is not valid UTF-8`);
    }
  }
}

const DECODER = new TextDecoder('utf-8', { fatal: true });

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { FormatError } from './errors.js';

/**
 * Random access to the bytes of a file (or of a buffer, for tests). Every read is checked
 * against the size, so a corrupt length or offset can never read or allocate past the end.
 */
export interface ByteSource {
  readonly path: string;
  readonly size: number;
  /** Bytes [offset, offset + length); `shared` returns them in a SharedArrayBuffer. */
  read(offset: number, length: number, shared?: boolean): Uint8Array;
  close(): void;
}

export function checkRange(source: ByteSource, offset: number, length: number, what: string): void {
  if (
    !Number.isSafeInteger(offset) ||
    !Number.isSafeInteger(length) ||
    offset < 0 ||
    length < 0 ||
    offset + length > source.size
  )
    throw new FormatError(
      source.path,
      `${what} at bytes ${offset}..${offset + length} lies outside the file (${source.size} bytes): truncated or corrupt`,
    );
}

export class FileSource implements ByteSource {
  readonly path: string;
  readonly size: number;
  private fd: number;

  constructor(path: string) {
    this.path = path;
    try {
      this.fd = openSync(path, 'r');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new FormatError(
        path,
        code === 'ENOENT' ? 'no such file' : `cannot open (${code ?? String(err)})`,
      );
    }
    const stat = fstatSync(this.fd);
    if (!stat.isFile()) {
      closeSync(this.fd);
      throw new FormatError(path, 'not a regular file');
    }
    this.size = stat.size;
  }

  read(offset: number, length: number, shared = false): Uint8Array {
    checkRange(this, offset, length, 'read');
    const out = new Uint8Array(shared ? new SharedArrayBuffer(length) : new ArrayBuffer(length));
    let done = 0;
    while (done < length) {
      const n = readSync(this.fd, out, done, Math.min(length - done, 1 << 30), offset + done);
      if (n === 0) throw new FormatError(this.path, `file shrank while reading at byte ${offset + done}`);
      done += n;
    }
    return out;
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

export class MemorySource implements ByteSource {
  readonly path: string;
  readonly size: number;
  private readonly bytes: Uint8Array;

  constructor(bytes: Uint8Array, path = '<memory>') {
    this.bytes = bytes;
    this.path = path;
    this.size = bytes.byteLength;
  }

  read(offset: number, length: number, shared = false): Uint8Array {
    checkRange(this, offset, length, 'read');
    const out = new Uint8Array(shared ? new SharedArrayBuffer(length) : new ArrayBuffer(length));
    out.set(this.bytes.subarray(offset, offset + length));
    return out;
  }

  close(): void {}
}

export function openSource(pathOrSource: string | ByteSource): ByteSource {
  return typeof pathOrSource === 'string' ? new FileSource(pathOrSource) : pathOrSource;
}

/** Opens the file (or takes the source) and builds a reader over it; the source is closed if that fails. */
export function openReader<T>(pathOrSource: string | ByteSource, build: (source: ByteSource) => T): T {
  const source = openSource(pathOrSource);
  try {
    return build(source);
  } catch (err) {
    source.close();
    throw err;
  }
}

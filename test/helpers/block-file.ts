// A BlockFile over bytes in memory, for the block reader's tests (src/stream.ts).
import type { BlockFile } from '../../src/stream.ts';

/** A file whose reads return at most the sizes given, in turn (a pipe or a network file); [] reads all it can. */
export function memoryFile(bytes: Buffer, readSizes: number[]): BlockFile {
  let pos = 0;
  let k = 0;
  return {
    size: bytes.length,
    read(buf) {
      const want = Math.min(buf.length, readSizes.length ? Math.max(1, readSizes[k++ % readSizes.length]!) : buf.length, bytes.length - pos);
      bytes.copy(buf, 0, pos, pos + want);
      pos += want;
      return want;
    },
    close() {},
  };
}

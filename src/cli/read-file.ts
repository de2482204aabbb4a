/**
 * Reading a file named by a flag (a TLS certificate, a key, a CA), refusing
 * anything but a regular file: reading a FIFO waits for a writer that may
 * never come (start-up hangs with no word), a device such as /dev/zero never
 * ends, and a directory has nothing to read.
 */
import { closeSync, constants, fstatSync, openSync, readFileSync, type Stats } from "node:fs";
import { describe } from "../options.js";
import { usageError } from "./args.js";

/** What an open() or read() failure means, in words. */
const FILE_ERRORS: Readonly<Record<string, string>> = {
  ENOENT: "no such file",
  ENOTDIR: "a part of the path is not a directory",
  EACCES: "permission denied",
  EPERM: "permission denied",
  ELOOP: "too many symbolic links",
  ENAMETOOLONG: "the path is too long",
  EISDIR: "it is a directory, not a regular file",
};

/** The file's bytes; an error is one line naming `what` (the flag or variable) and the path. */
export function readRegularFile(path: string, what: string): Buffer {
  const fail = (why: string) => usageError(`cannot read ${what} ${describe(path)}: ${why}`);
  const words = (error: unknown) => {
    const code = (error as NodeJS.ErrnoException).code;
    return (code && FILE_ERRORS[code]) ?? code ?? String(error);
  };
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer before fstat could look at it.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    throw fail(words(error));
  }
  try {
    let stats: Stats;
    let bytes: Buffer;
    try {
      stats = fstatSync(fd);
      bytes = stats.isFile() ? readFileSync(fd) : Buffer.alloc(0);
    } catch (error) {
      throw fail(words(error));
    }
    if (!stats.isFile()) throw fail(`it is ${kindOf(stats)}, not a regular file`);
    return bytes;
  } finally {
    closeSync(fd);
  }
}

function kindOf(stats: Stats): string {
  if (stats.isFIFO()) return "a FIFO (named pipe)";
  if (stats.isDirectory()) return "a directory";
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return "a device";
  if (stats.isSocket()) return "a socket";
  return "a special file";
}

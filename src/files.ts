import {randomBytes} from 'node:crypto'
import {
  closeSync,
  constants,
  fchmodSync,
  fsyncSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  renameSync,
  type Stats,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs'
import {dirname, resolve} from 'node:path'

/**
 * Files passport writes for itself (keys, the configuration, the database) and the checks on the
 * ones it finds: nothing here follows a symbolic link planted where a new file goes, and nothing
 * is adopted from another user or from a place every user can write.
 */

/**
 * Creates `path` and each missing parent, one `mkdir` at a time, with `mode` (e.g. 0700); returns
 * the directories it created, outermost first. Node 20's `mkdirSync(…, {recursive: true})` never
 * returns for a path under `/proc`; this fails with the first error instead.
 */
export function makeDirectory(path: string, mode: number): string[] {
  const missing: string[] = []
  let current = resolve(path)
  for (;;) {
    let stats: Stats | undefined
    try {
      stats = statSync(current)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    }
    if (stats) {
      if (!stats.isDirectory()) throw Object.assign(new Error(`${current} is not a directory`), {code: 'ENOTDIR'})
      break
    }
    missing.push(current)
    const parent = dirname(current)
    if (parent === current) break
    current = parent
  }
  missing.reverse()
  for (const directory of missing) mkdirSync(directory, {mode})
  return missing
}

/**
 * Why `stats` (of a directory or file passport would trust) is unsafe, or undefined: owned by
 * another user, or writable by every user. A file there could be swapped for another's.
 */
export function ownershipProblem(stats: Stats): string | undefined {
  const uid = process.getuid?.()
  if (uid !== undefined && stats.uid !== uid) return `is owned by another user (uid ${stats.uid}, not ${uid})`
  if (stats.mode & 0o002)
    return `is writable by every user (mode ${(stats.mode & 0o7777).toString(8).padStart(4, '0')})`
  return undefined
}

/** `lstat` that gives undefined for a missing path. */
export function lstatIfExists(path: string): Stats | undefined {
  try {
    return lstatSync(path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

/**
 * Writes `content` to `path` atomically: into a new temporary file next to it (random name,
 * `O_EXCL | O_NOFOLLOW`, so a planted file or symbolic link is never written through), given
 * `mode`, flushed, then renamed over `path` (which replaces a link at `path`, never its target).
 * With `exclusive`, an existing `path` is kept and the call fails with EEXIST.
 */
export function writeFileSafely(
  path: string,
  content: string,
  mode: number,
  options: {exclusive?: boolean} = {},
): void {
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`
  const fd = openSync(
    temp,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0),
    mode,
  )
  try {
    try {
      fchmodSync(fd, mode)
      writeSync(fd, content)
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    if (options.exclusive) {
      linkSync(temp, path)
      unlinkSync(temp)
    } else {
      renameSync(temp, path)
    }
  } catch (error) {
    try {
      unlinkSync(temp)
    } catch {
      // already renamed or never created
    }
    throw error
  }
}

/** Creates an empty file with `mode` unless something (a file or a link) is already at `path`; true when it did. */
export function createFileExclusively(path: string, mode: number): boolean {
  let fd: number
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0), mode)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw error
  }
  try {
    fchmodSync(fd, mode)
  } finally {
    closeSync(fd)
  }
  return true
}

export function errorCode(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? 'unknown error'
}

/**
 * Files the user names on the command line. A missing or unreadable one is an error
 * (`file_not_found`, `file_unreadable`) that names the flag (or argument) and the path,
 * not a bare ENOENT.
 */
import { readFileSync, statSync } from 'node:fs'
import { SinewError } from '../core/index.ts'

function unreadable(path: string, field: string, e: unknown): SinewError {
  const code = (e as NodeJS.ErrnoException).code
  const why =
    code === 'ENOENT'
      ? 'does not exist'
      : code === 'EISDIR'
        ? 'is a directory'
        : code === 'EACCES'
          ? 'is not readable (permission denied)'
          : `cannot be read (${(e as Error).message})`
  return new SinewError({
    code: code === 'ENOENT' ? 'file_not_found' : 'file_unreadable',
    message: `${field}: ${path} ${why}`,
    details: { field, file: path, reason: code ?? String(e) },
    hint: code === 'ENOENT' ? 'Check the path (it is relative to the current directory), or create the file first.' : undefined,
  })
}

/** The bytes of a file the user named as `field` (a flag like --result-file, or an argument). */
export function readInputFile(path: string, field: string): Buffer {
  try {
    return readFileSync(path)
  } catch (e) {
    throw unreadable(path, field, e)
  }
}

/** The size of a regular file the user named, checked before anything is uploaded or signed. */
export function inputFileSize(path: string, field: string): number {
  let st
  try {
    st = statSync(path)
  } catch (e) {
    throw unreadable(path, field, e)
  }
  if (!st.isFile()) throw unreadable(path, field, Object.assign(new Error('not a file'), { code: st.isDirectory() ? 'EISDIR' : 'ENOTFILE' }))
  return st.size
}

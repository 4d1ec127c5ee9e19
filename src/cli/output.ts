/** CLI output: human text by default, JSON with --json; errors as one clear block and exit 1. */
import { isSinewError, SinewError, wireJson } from '../core/index.ts'

export function printJson(value: unknown): void {
  process.stdout.write(wireJson(value, 2) + '\n')
}

export function printLines(...lines: string[]): void {
  process.stdout.write(lines.join('\n') + '\n')
}

/** Prints an error the way a person can act on it and sets the exit code. */
export function reportError(e: unknown, json: boolean): void {
  process.exitCode = 1
  if (isSinewError(e)) {
    if (json) {
      process.stderr.write(JSON.stringify(e.toJSON(), null, 2) + '\n')
      return
    }
    const lines = [`error: ${e.shortMessage} (${e.code})`]
    for (const [k, v] of Object.entries(e.details)) lines.push(`  ${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`)
    if (e.hint) lines.push(`hint: ${e.hint}`)
    process.stderr.write(lines.join('\n') + '\n')
    return
  }
  const message = (e as Error)?.message ?? String(e)
  process.stderr.write(json ? JSON.stringify(new SinewError({ code: 'internal', message })) + '\n' : `error: ${message}\n`)
}

/** Wraps a command action so every failure goes through reportError. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const opts = args.find((a) => a && typeof a === 'object' && !Array.isArray(a) && 'json' in (a as object)) as { json?: boolean } | undefined
    try {
      await fn(...args)
    } catch (e) {
      reportError(e, opts?.json === true)
    }
  }
}

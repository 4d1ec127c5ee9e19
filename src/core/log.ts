/** Structured logs (pino, JSON lines). Human-facing CLI output does not go through here. */
import { pino, type Logger } from 'pino'

export type { Logger }

export function createLogger(level: string = 'info', name = 'sinew'): Logger {
  return pino({ name, level, base: { pid: process.pid } })
}

export const silentLogger: Logger = pino({ level: 'silent' })

export type ExtractLimits = {
  /** Most characters of text a contribution may yield. */
  maxTextChars: number
  /** Most pages of a PDF. */
  maxPages: number
  /** Most entries in a DOCX (zip) archive. */
  maxEntries: number
  /** Most bytes a DOCX archive may inflate to, all entries together. */
  maxExpandedBytes: number
}

export class Unparseable extends Error {
  constructor(reason: string, extra?: Record<string, unknown>)
  readonly reason: string
  readonly extra: Record<string, unknown>
}

export function checkZip(buf: Buffer, limits: Pick<ExtractLimits, 'maxEntries' | 'maxExpandedBytes'>): void
export function extractPdf(bytes: Uint8Array, limits: ExtractLimits): Promise<string[]>
export function extractDocx(bytes: Uint8Array, limits: ExtractLimits): Promise<string[]>
/** Whether a parser's error is the node running out of stack, memory or engine limits (never a verdict on the bytes). */
export function isNodeLimitError(e: unknown): boolean

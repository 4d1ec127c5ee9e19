/** The media types a Datanet can accept, and the file extensions that map to them. */
export const MEDIA_TYPES = {
  'text/plain': ['.txt', '.text'],
  'text/markdown': ['.md', '.markdown'],
  'application/jsonl': ['.jsonl', '.ndjson'],
  'text/csv': ['.csv'],
  'application/pdf': ['.pdf'],
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': ['.docx'],
} as const satisfies Record<string, readonly string[]>

export type MediaType = keyof typeof MEDIA_TYPES

export const ALL_MEDIA_TYPES = Object.keys(MEDIA_TYPES) as MediaType[]

export const isMediaType = (value: string): value is MediaType => Object.hasOwn(MEDIA_TYPES, value)

/** Short names people type: txt, md, jsonl, csv, pdf, docx (or a full media type). */
export function mediaTypeFromName(name: string): MediaType | undefined {
  if (isMediaType(name)) return name
  const ext = '.' + name.replace(/^\./, '').toLowerCase()
  return mediaTypeOfPath(ext)
}

export function mediaTypeOfPath(path: string): MediaType | undefined {
  const lower = path.toLowerCase()
  for (const [type, exts] of Object.entries(MEDIA_TYPES)) {
    if ((exts as readonly string[]).some((e) => lower.endsWith(e))) return type as MediaType
  }
  return undefined
}

/** The wire form of JSON, apart from encoding.ts so that errors.ts can use it without a cycle. */

/**
 * JSON text with bigints as decimal strings, the wire form of integers: for answers, CLI
 * output, MCP results and error messages. (Hashing and storage use canonicalJson.)
 */
export function wireJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, bigintAsDecimal, indent)
}

const bigintAsDecimal = (_key: string, value: unknown): unknown => (typeof value === 'bigint' ? value.toString() : value)

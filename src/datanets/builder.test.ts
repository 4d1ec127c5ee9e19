/** The build id commits to what decides a version's index, and to nothing that may differ between honest nodes. */
import { describe, expect, it } from 'vitest'
import type { Hex } from '../core/index.ts'
import { buildCommitment, type BuildReport } from './builder.ts'

const c = (n: number) => `0x${n.toString(16).padStart(64, '0')}` as Hex
const report = (skipped: BuildReport['skipped']): BuildReport => ({ documents: 3, excluded: [c(9)], skipped })
const base = { indexId: 'idx-1', ingestRules: 'sinew-ingest/3;pdfjs-dist@4.10.38;mammoth@1.13.0' }

describe('buildCommitment', () => {
  it('differs when the index, the rules, an exclusion or a skip (or its code) differs; not when a parser words its message otherwise', () => {
    const id = buildCommitment({
      ...base,
      report: report([{ contribution: c(1), code: 'unparseable_content', message: 'line 1 is not JSON (Unexpected token)' }]),
    })
    expect(
      buildCommitment({ ...base, report: report([{ contribution: c(1), code: 'unparseable_content', message: "line 1 is not JSON (Unexpected token 'x')" }]) }),
    ).toBe(id)
    const others = [
      buildCommitment({ ...base, indexId: 'idx-2', report: report([{ contribution: c(1), code: 'unparseable_content', message: '' }]) }),
      buildCommitment({
        ...base,
        ingestRules: 'sinew-ingest/3;pdfjs-dist@4.10.39;mammoth@1.13.0',
        report: report([{ contribution: c(1), code: 'unparseable_content', message: '' }]),
      }),
      buildCommitment({ ...base, report: report([{ contribution: c(1), code: 'size_mismatch', message: '' }]) }),
      buildCommitment({ ...base, report: report([{ contribution: c(2), code: 'unparseable_content', message: '' }]) }),
      buildCommitment({ ...base, report: report([]) }),
      buildCommitment({ ...base, report: { ...report([{ contribution: c(1), code: 'unparseable_content', message: '' }]), excluded: [] } }),
    ]
    expect(new Set([id, ...others]).size).toBe(others.length + 1)
  })
})

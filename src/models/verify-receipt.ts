/**
 * Recomputes a receipt from the output text and the Datanet versions' indexes: output
 * hash, token count, method id, coverage, spans, weights, authors (`authorOf`: the author of
 * an accepted contribution in Datanets state), fee and split. Used by `sinew receipt verify`;
 * pure apart from the indexes and author lookup it is given.
 */
import { canonicalJson } from '../core/index.ts'
import type { Address } from '../ledger/index.ts'
import { answerHash, attributeAnswer, type Answer, type NamedIndex } from './attribution.ts'
import { callFee, splitFee } from './fees.ts'
import type { ReceiptView } from './earnings.ts'
import type { ModelTerms } from './state.ts'

export type ReceiptCheck = { name: string; ok: boolean; expected: unknown; actual: unknown }
export type ReceiptVerification = { ok: boolean; checks: ReceiptCheck[] }

/** Compared as canonical JSON: key order does not matter, values do. */
const same = (a: unknown, b: unknown) => canonicalJson(a) === canonicalJson(b)

export function verifyReceipt(
  receipt: ReceiptView,
  terms: ModelTerms,
  protocolFeeBps: number,
  indexes: readonly NamedIndex[],
  /** The answer: its text, or its text and function calls. */
  output: string | Answer,
  authorOf?: (contribution: string) => Address | undefined,
): ReceiptVerification {
  const checks: ReceiptCheck[] = []
  const check = (name: string, expected: unknown, actual: unknown) => checks.push({ name, ok: same(expected, actual), expected, actual })
  const answer = typeof output === 'string' ? { text: output, toolCalls: [] } : output
  check('outputHash', answerHash(answer), receipt.outputHash)
  const att = attributeAnswer(indexes, answer)
  check('method', att.method, receipt.method)
  check('outputTokens', att.outputTokens, receipt.outputTokens)
  check('coverageBps', att.coverageBps, receipt.coverageBps)
  check('spans', att.spans, receipt.spans)
  check(
    'weights',
    att.weights.map((w) => ({ contribution: w.contribution, datanet: w.datanet, bps: w.bps })),
    receipt.weights.map((w) => ({ contribution: w.contribution, datanet: w.datanet, bps: w.bps })),
  )
  if (authorOf) {
    // Authors come from Datanets state: every weighted contribution must be an accepted one, by the author the receipt names.
    check(
      'authors',
      receipt.weights.map((w) => authorOf(w.contribution) ?? null),
      receipt.weights.map((w) => w.author),
    )
  }
  const fee = callFee(terms, BigInt(receipt.promptTokens), BigInt(receipt.outputTokens))
  const split = splitFee(
    fee,
    protocolFeeBps,
    terms.contributorShareBps,
    receipt.coverageBps,
    receipt.weights.map((w) => ({ contribution: w.contribution, author: w.author as Address, bps: w.bps })),
  )
  check('fee', fee.toString(), receipt.split.fee)
  check('protocolFee', split.protocolFee.toString(), receipt.split.protocolFee)
  check('contributorPool', split.contributorPool.toString(), receipt.split.contributorPool)
  check('ownerAmount', split.ownerAmount.toString(), receipt.split.ownerAmount)
  check('owner', terms.owner, receipt.split.owner)
  check(
    'contributors',
    split.contributors.map((c) => ({ contribution: c.contribution, author: c.author, amount: c.amount.toString() })),
    receipt.split.contributors,
  )
  return { ok: checks.every((c) => c.ok), checks }
}

/** GET /v1/status `settlement`: the EVM deposit watcher, the checkpointer and the backing invariant (docs/settlement.md). */
import { z } from 'zod'
import { addressSchema, countSchema, hash32Schema, uintStringSchema } from '../../core/index.ts'

const intString = z.string().regex(/^-?(0|[1-9][0-9]*)$/)

const loopSchema = {
  running: z.boolean(),
  failures: countSchema.describe('Failures in a row (the job retries with backoff)'),
  lastError: z.string().nullable(),
  lastErrorAt: z.string().nullable(),
  lastSuccessAt: z.string().nullable(),
}

export const settlementStatusSchema = z
  .object({
    chainId: uintStringSchema.nullable().describe('The EVM chain id (null until the endpoint answered)'),
    contract: addressSchema,
    token: addressSchema.nullable(),
    confirmations: countSchema,
    poster: addressSchema.nullable().describe('The EVM account that posts checkpoints (needs gas); null on a replica'),
    lastCheckpoint: z
      .object({ height: uintStringSchema, evmTx: hash32Schema.nullable(), postedAt: z.string().nullable() })
      .nullable()
      .describe("The contract's last checkpointed Sinew height"),
    lagBlocks: uintStringSchema.nullable().describe('Sinew blocks since the last checkpoint'),
    pendingDeposits: countSchema.describe('Deposits seen on the EVM chain, waiting for their confirmations'),
    pendingAmount: uintStringSchema,
    evmHead: uintStringSchema.nullable(),
    scannedTo: uintStringSchema.nullable().describe('Every deposit up to this EVM block is credited'),
    invariant: z
      .object({
        holds: z.boolean(),
        contractBalance: uintStringSchema,
        genesisMint: uintStringSchema,
        circulating: uintStringSchema,
        deposited: uintStringSchema,
        withdrawn: uintStringSchema,
        withdrawalsPaid: uintStringSchema,
        escapesPaid: uintStringSchema,
        required: intString,
        surplus: intString,
      })
      .nullable()
      .describe('token.balanceOf(contract) >= genesisMint + deposited - withdrawalsPaid - escapesPaid'),
    watcher: z.object({
      ...loopSchema,
      credited: countSchema,
      recovered: countSchema.describe(
        "x402 payment transfers the watcher credited because their payment's own path did not (the node died, gave up waiting, or someone else submitted the payer's authorisation)",
      ),
    }),
    checkpointer: z
      .object({
        ...loopSchema,
        inFlight: z.object({ height: uintStringSchema, evmTx: hash32Schema }).nullable(),
        posted: countSchema,
      })
      .nullable(),
  })
  .meta({ id: 'SettlementStatus' })

/**
 * x402 version 2 on the gateway (docs/x402.md): a model call with no API key, on a node that
 * takes x402, is answered 402 with a `PAYMENT-REQUIRED` header (base64 JSON PaymentRequired:
 * what the call costs at most and how it may be paid); the client retries with
 * `PAYMENT-SIGNATURE` (base64 JSON PaymentPayload). This module checks the payment against the
 * call before any work (scheme, network, resource, payee, amount ≥ the call's price, the
 * payer's signature, validity window, an unused nonce, the payer's funds), has the ledger accept
 * it (`AcceptPayment`, src/models/payment-tab.ts: a one-call tab the call's receipt charges),
 * and lets the gateway serve the call on that tab: the payer is charged the actual fee, at most
 * what it authorised (the `upto` idea); a refused or failed call charges nothing. The answer
 * carries `PAYMENT-RESPONSE` (base64 JSON SettleResponse: the receipt's tx, the amount
 * charged, the receipt id). The MCP transport (x402 `mcp.md`) carries the same objects in
 * `_meta` (src/server/mcp/data-tools.ts).
 *
 * Two schemes: `sinew` (above) and, with settlement on an EVM chain, the standard `exact` on
 * the settlement token: an EIP-3009 transfer into the settlement contract that the node, its
 * own facilitator, checks here, has src/settlement transfer and credit to the payer on Sinew
 * (`DepositTransfer`), then opens the call's tab from (`AcceptEvmPayment`); the call is
 * charged its actual fee and the rest stays on the payer's Sinew balance.
 *
 * The routes call `admitPayment` before serving (a no-op when the call has an API key or
 * the node takes no x402), and `installPaymentResponses` adds PAYMENT-RESPONSE.
 */
import { randomBytes } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { z } from 'zod'
import { isSinewError, SinewError, type ErrorCode, type Hex } from '../core/index.ts'
import type { CallRequest, Gateway } from '../gateway/index.ts'
import { checkPaymentAuthorization, sinewNetwork, type Address, type PaymentAuthorization } from '../ledger/index.ts'
import { hashApiKey, readApiKey, readReceiptPointer, type ModelRecord } from '../models/index.ts'
import { evmPaymentKey, transferAuthorizationSigner, type ExactTerms, type SettledTransfer, type TransferAuthorization } from '../settlement/index.ts'

export const X402_VERSION = 2
export const SINEW_SCHEME = 'sinew'
export const SINEW_ASSET = 'SIN'
export const EXACT_SCHEME = 'exact'
/** The EVM facilitators' margin: an authorisation must stay valid this long after it is checked (seconds). */
const EXACT_MIN_VALIDITY_SECONDS = 6n
export const PAYMENT_REQUIRED_HEADER = 'PAYMENT-REQUIRED'
export const PAYMENT_SIGNATURE_HEADER = 'PAYMENT-SIGNATURE'
export const PAYMENT_RESPONSE_HEADER = 'PAYMENT-RESPONSE'

/** What a call paid with x402 can be refused for (the OpenAPI document lists them on the paid routes). */
export const X402_REFUSALS: ErrorCode[] = [
  'payment_required',
  'payment_header_invalid',
  'payment_payload_invalid',
  'payment_scheme_unsupported',
  'payment_wrong_network',
  'payment_wrong_resource',
  'payment_wrong_payee',
  'payment_insufficient',
  'payment_insufficient_funds',
  'payment_signature_invalid',
  'payment_not_yet_valid',
  'payment_expired',
  'payment_nonce_used',
  'payment_wrong_asset',
  'payment_wrong_amount',
  'payment_settlement_failed',
]

/** The node's settlement side, as x402's `exact` scheme needs it (src/settlement Settlement). */
export type ExactSettlement = {
  exactTerms(): ExactTerms | undefined
  settleExactPayment(auth: TransferAuthorization, signature: Hex): Promise<SettledTransfer>
}

export type X402Settings = {
  /** Validity window a payer is asked to give its authorisation (seconds). */
  maxTimeoutSeconds: number
}

export type PaymentRequirements = {
  scheme: string
  network: string
  amount: string
  asset: string
  payTo: string
  maxTimeoutSeconds: number
  extra: Record<string, unknown>
}
export type PaymentRequired = {
  x402Version: number
  error?: string
  resource: { url: string; description: string; mimeType: string }
  accepts: PaymentRequirements[]
}
export type SettleResponse = {
  success: boolean
  errorReason?: string
  errorMessage?: string
  payer?: string
  transaction: string
  network: string
  amount?: string
  extra?: Record<string, unknown>
}

/** What a call costs at most and who it pays (Gateway.quote). */
export type CallQuote = { model: ModelRecord; maxTokens: number; promptTokens: number; maxFee: bigint }

/** A payment the ledger accepted for a call: the tab the call runs on. */
export type AcceptedPayment = {
  payer: Address
  network: string
  maxAmount: bigint
  /** The tab's key hash (RecordReceipt's apiKeyHash) and the AcceptPayment tx. */
  tab: Hex
  acceptTx: Hex
  /** The tab's secret: only this node holds it, for this one call. */
  secret: string
  /** Scheme `exact`: the EVM transfer that paid it, credited on Sinew before the tab opened. */
  evm?: SettledTransfer & { value: bigint }
}

const hex = (bytes: number) => z.string().regex(new RegExp(`^0x[0-9a-fA-F]{${bytes * 2}}$`))
const uint = z.string().regex(/^(0|[1-9][0-9]{0,77})$/)
const requirementsSchema = z.object({
  scheme: z.string().max(64),
  network: z.string().max(64),
  amount: z.string().max(80),
  asset: z.string().max(64),
  payTo: z.string().max(64),
  maxTimeoutSeconds: z.number(),
  extra: z.record(z.string(), z.unknown()).optional(),
})
const payloadSchema = z.object({
  x402Version: z.literal(X402_VERSION),
  accepted: requirementsSchema,
  payload: z.record(z.string(), z.unknown()),
})
const sinewPayloadSchema = z.object({
  authorization: z.object({
    payer: hex(20),
    payee: hex(20),
    maxAmount: uint,
    resource: z.string().max(1024),
    nonce: hex(32),
    validAfter: uint,
    validBefore: uint,
    network: z.string().max(64),
  }),
  signature: hex(65),
})
/** @x402/evm's ExactEIP3009Payload (EOA signatures: 65 bytes). */
const exactPayloadSchema = z.object({
  authorization: z.object({ from: hex(20), to: hex(20), value: uint, validAfter: uint, validBefore: uint, nonce: hex(32) }),
  signature: hex(65),
})

/** Standard base64 of UTF-8 JSON, as @x402/core encodes the headers. */
export const encodeHeader = (value: unknown): string => Buffer.from(JSON.stringify(value), 'utf8').toString('base64')

/** A PAYMENT-SIGNATURE header (or anything said to hold base64 JSON) as the JSON value it holds. */
export function decodeHeader(header: string): unknown {
  const fail = (why: string) =>
    new SinewError({
      code: 'payment_header_invalid',
      message: `${PAYMENT_SIGNATURE_HEADER} is not base64 JSON: ${why}`,
      details: { field: PAYMENT_SIGNATURE_HEADER },
      hint: 'Send base64 (standard alphabet) of the JSON PaymentPayload, as @x402/core encodePaymentSignatureHeader makes it.',
    })
  const h = header.trim()
  if (h.length === 0 || h.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(h)) throw fail('not base64')
  try {
    return JSON.parse(Buffer.from(h, 'base64').toString('utf8'))
  } catch {
    throw fail('the decoded bytes are not JSON')
  }
}

/** The x402 side of a node: prices calls as PaymentRequired, checks payments and has the ledger accept them. */
export class X402Payments {
  readonly network: string
  constructor(
    private readonly gateway: Gateway,
    readonly settings: X402Settings,
    /** With settlement on an EVM chain: the `exact` scheme on its token. */
    private readonly settlement?: ExactSettlement,
  ) {
    this.network = sinewNetwork(gateway.node.chain.genesis.chainId)
  }

  /** The schemes this node takes now: `sinew`, and `exact` on the settlement token once connected to its EVM chain. */
  schemes(): { scheme: string; network: string; asset: string }[] {
    const terms = this.settlement?.exactTerms()
    return [
      { scheme: SINEW_SCHEME, network: this.network, asset: SINEW_ASSET },
      ...(terms ? [{ scheme: EXACT_SCHEME, network: terms.network, asset: terms.token }] : []),
    ]
  }

  /** The string a payer's authorisation names as its resource: the route and the model. */
  resourceOf(path: string, model: string): string {
    return `${path}?model=${model}`
  }

  /** What a call at `url` (route `path`) costs at most and how it may be paid. */
  paymentRequired(quote: CallQuote, o: { url: string; path: string }, error?: string): PaymentRequired {
    return {
      x402Version: X402_VERSION,
      ...(error ? { error } : {}),
      resource: {
        url: o.url,
        description: `A call of the model ${quote.model.name} (at most ${quote.maxTokens} output tokens), attributed and paid on Sinew`,
        mimeType: 'application/json',
      },
      accepts: [
        {
          scheme: SINEW_SCHEME,
          network: this.network,
          amount: quote.maxFee.toString(),
          asset: SINEW_ASSET,
          payTo: quote.model.owner,
          maxTimeoutSeconds: this.settings.maxTimeoutSeconds,
          extra: {
            resource: this.resourceOf(o.path, quote.model.name),
            model: quote.model.name,
            maxTokens: quote.maxTokens,
            decimals: 18,
            // The call is charged its actual fee, at most `amount`.
            settlement: 'upto',
          },
        },
        ...this.exactRequirements(quote, o.path),
      ],
    }
  }

  /**
   * The EVM `exact` scheme on the settlement token, when settlement is configured and
   * connected: an EIP-3009 transfer of `amount` into the settlement contract, credited to the
   * payer on Sinew; the call is charged its actual fee and the rest stays on the payer's balance.
   */
  private exactRequirements(quote: CallQuote, path: string): PaymentRequirements[] {
    const terms = this.settlement?.exactTerms()
    if (!terms) return []
    return [
      {
        scheme: EXACT_SCHEME,
        network: terms.network,
        amount: quote.maxFee.toString(),
        asset: terms.token,
        payTo: terms.contract,
        maxTimeoutSeconds: this.settings.maxTimeoutSeconds,
        extra: {
          // The token's EIP-712 domain, which @x402/evm signs under.
          name: terms.name,
          version: terms.version,
          resource: this.resourceOf(path, quote.model.name),
          model: quote.model.name,
          maxTokens: quote.maxTokens,
          decimals: 18,
          // The whole amount is credited to the payer on Sinew; the call is charged its actual fee.
          settlement: 'deposit',
        },
      },
    ]
  }

  /**
   * Checks a payment (the decoded PAYMENT-SIGNATURE) for the call `required` prices and has the
   * ledger accept it. Throws a typed refusal (nothing charged, nothing used) or the ledger's.
   */
  async accept(payment: unknown, required: PaymentRequired, quote: CallQuote): Promise<AcceptedPayment> {
    const p = parse(payloadSchema, payment, '')
    const offered = required.accepts.find((a) => a.scheme === p.accepted.scheme)
    if (!offered) {
      throw new SinewError({
        code: 'payment_scheme_unsupported',
        message: `This call takes the schemes ${required.accepts.map((a) => a.scheme).join(', ')}, not ${p.accepted.scheme.slice(0, 64)}`,
        details: { field: 'accepted.scheme', accepted: required.accepts.map((a) => ({ scheme: a.scheme, network: a.network })) },
      })
    }
    if (p.accepted.network !== offered.network) {
      throw new SinewError({
        code: 'payment_wrong_network',
        message: `The payment is for network ${p.accepted.network.slice(0, 64)}, this call is paid on ${offered.network}`,
        details: { field: 'accepted.network', got: p.accepted.network.slice(0, 64), expected: offered.network },
      })
    }
    if (p.accepted.scheme === EXACT_SCHEME) return this.acceptExact(p.payload, p.accepted, offered, quote)
    const { authorization: a, signature } = parse(sinewPayloadSchema, p.payload, 'payload.')
    const auth: PaymentAuthorization = {
      payer: a.payer.toLowerCase() as Address,
      payee: a.payee.toLowerCase() as Address,
      maxAmount: BigInt(a.maxAmount),
      resource: a.resource,
      nonce: a.nonce.toLowerCase() as Hex,
      validAfter: BigInt(a.validAfter),
      validBefore: BigInt(a.validBefore),
      network: a.network,
    }
    const resource = offered.extra.resource as string
    if (auth.resource !== resource) {
      throw new SinewError({
        code: 'payment_wrong_resource',
        message: `The authorisation is for ${auth.resource.slice(0, 200)}, this call is ${resource}`,
        details: { field: 'payload.authorization.resource', got: auth.resource.slice(0, 200), expected: resource },
      })
    }
    if (auth.payee !== quote.model.owner) {
      throw new SinewError({
        code: 'payment_wrong_payee',
        message: `The authorisation pays ${auth.payee}, this call pays ${quote.model.owner} (the model's owner)`,
        details: { field: 'payload.authorization.payee', got: auth.payee, expected: quote.model.owner },
      })
    }
    if (auth.maxAmount < quote.maxFee) {
      throw new SinewError({
        code: 'payment_insufficient',
        message: `The authorisation allows ${auth.maxAmount}, this call may cost up to ${quote.maxFee}`,
        details: { field: 'payload.authorization.maxAmount', got: auth.maxAmount.toString(), price: quote.maxFee.toString() },
        hint: 'Authorise at least the `amount` of the PAYMENT-REQUIRED requirement; you are charged only the actual fee.',
      })
    }
    const node = this.gateway.node
    const sig = Buffer.from(signature.slice(2), 'hex')
    const refusal = checkPaymentAuthorization({ chainId: node.chain.genesis.chainId, timestampMs: node.now(), state: node.chain.state }, auth, sig, 0n)
    if (refusal) throw new SinewError({ code: refusal.code, message: refusal.message, details: { field: 'payload.authorization', ...refusal.details } })
    const balance = node.account(auth.payer).balance
    if (balance < quote.maxFee) {
      throw new SinewError({
        code: 'payment_insufficient_funds',
        message: `The payer ${auth.payer} holds ${balance}, this call may cost up to ${quote.maxFee}`,
        details: { payer: auth.payer, balance: balance.toString(), price: quote.maxFee.toString() },
        hint: 'Fund the payer on this chain (a transfer, or a deposit on the settlement chain) and pay again.',
      })
    }
    const secret = `x402-${randomBytes(32).toString('hex')}`
    const tab = hashApiKey(secret)
    const ack = await this.gateway.submitter.submit('AcceptPayment', {
      payer: auth.payer,
      payee: auth.payee,
      maxAmount: a.maxAmount,
      resource: auth.resource,
      authNonce: auth.nonce,
      validAfter: a.validAfter,
      validBefore: a.validBefore,
      network: auth.network,
      signature,
      model: quote.model.name,
      tabHash: tab,
    })
    return { payer: auth.payer, network: this.network, maxAmount: auth.maxAmount, tab, acceptTx: ack.hash, secret }
  }

  /**
   * Scheme `exact`: checks the EIP-3009 authorisation against the requirement (asset, payTo,
   * value, window, signature), has the settlement side transfer it on the chain and credit it
   * (src/settlement/exact.ts), then opens the call's tab from it (AcceptEvmPayment). Every
   * refusal comes before the transfer; once it is mined the tokens are the payer's on Sinew.
   */
  private async acceptExact(
    payload: unknown,
    accepted: z.infer<typeof requirementsSchema>,
    offered: PaymentRequirements,
    quote: CallQuote,
  ): Promise<AcceptedPayment> {
    const terms = this.settlement?.exactTerms()
    if (!terms) {
      // Offered a moment ago, gone now (the node lost its settlement connection or its sequencer lease).
      throw new SinewError({
        code: 'payment_settlement_failed',
        message: 'This node cannot settle `exact` payments now',
        details: { step: 'connect' },
        hint: 'Retry the call: the next 402 lists the schemes the node takes now.',
      })
    }
    const { authorization: a, signature } = parse(exactPayloadSchema, payload, 'payload.')
    const auth: TransferAuthorization = {
      from: a.from.toLowerCase() as Address,
      to: a.to.toLowerCase() as Address,
      value: BigInt(a.value),
      validAfter: BigInt(a.validAfter),
      validBefore: BigInt(a.validBefore),
      nonce: a.nonce.toLowerCase() as Hex,
    }
    if (accepted.asset.toLowerCase() !== terms.token) {
      throw new SinewError({
        code: 'payment_wrong_asset',
        message: `The payment is in ${accepted.asset.slice(0, 64)}, this node takes its settlement token ${terms.token}`,
        details: { field: 'accepted.asset', got: accepted.asset.slice(0, 64), expected: terms.token },
      })
    }
    if (auth.to !== terms.contract || accepted.payTo.toLowerCase() !== terms.contract) {
      throw new SinewError({
        code: 'payment_wrong_payee',
        message: `The authorisation pays ${auth.to}, this call pays the settlement contract ${terms.contract}`,
        details: { field: 'payload.authorization.to', got: auth.to, expected: terms.contract },
      })
    }
    if (auth.value < quote.maxFee) {
      throw new SinewError({
        code: 'payment_insufficient',
        message: `The authorisation transfers ${auth.value}, this call may cost up to ${quote.maxFee}`,
        details: { field: 'payload.authorization.value', got: auth.value.toString(), price: quote.maxFee.toString() },
        hint: 'Authorise exactly the `amount` of the PAYMENT-REQUIRED requirement; you are charged only the actual fee, the rest stays on your Sinew balance.',
      })
    }
    if (auth.value !== BigInt(offered.amount)) {
      throw new SinewError({
        code: 'payment_wrong_amount',
        message: `The authorisation transfers ${auth.value}, the \`exact\` requirement asks ${offered.amount}`,
        details: { field: 'payload.authorization.value', got: auth.value.toString(), expected: offered.amount },
        hint: 'Authorise exactly the `amount` of the PAYMENT-REQUIRED requirement.',
      })
    }
    const now = this.gateway.node.now() / 1000n
    if (auth.validAfter > now) {
      throw new SinewError({
        code: 'payment_not_yet_valid',
        message: `The authorisation is valid after ${auth.validAfter}, it is ${now}`,
        details: { field: 'payload.authorization.validAfter', validAfter: auth.validAfter.toString(), now: now.toString() },
      })
    }
    if (auth.validBefore < now + EXACT_MIN_VALIDITY_SECONDS) {
      throw new SinewError({
        code: 'payment_expired',
        message: `The authorisation is valid before ${auth.validBefore}, it is ${now} (it must stay valid ${EXACT_MIN_VALIDITY_SECONDS} s more)`,
        details: { field: 'payload.authorization.validBefore', validBefore: auth.validBefore.toString(), now: now.toString() },
        hint: 'Sign a fresh authorisation and pay again.',
      })
    }
    const domain = { name: terms.name, version: terms.version, chainId: terms.evmChainId, verifyingContract: terms.token }
    const signer = transferAuthorizationSigner(domain, auth, signature as Hex)
    if (signer !== auth.from) {
      throw new SinewError({
        code: 'payment_signature_invalid',
        message: `The EIP-3009 authorisation is not signed by its payer ${auth.from} under the token's domain (${terms.name} / ${terms.version} / chain ${terms.evmChainId} / ${terms.token})`,
        details: { field: 'payload.signature', from: auth.from, recovered: signer ?? null },
      })
    }
    const node = this.gateway.node
    if (node.chain.state.get(evmPaymentKey(terms.evmChainId, terms.token, auth.from, auth.nonce))) {
      throw new SinewError({
        code: 'payment_nonce_used',
        message: `The authorisation ${auth.nonce} of ${auth.from} paid for a call already: a replay`,
        details: { field: 'payload.authorization.nonce', payer: auth.from, nonce: auth.nonce },
      })
    }
    // The chain I/O: refusals here transfer nothing; past here the tokens are on the payer's Sinew balance.
    const transfer = await this.settlement!.settleExactPayment(auth, signature as Hex)
    const secret = `x402-${randomBytes(32).toString('hex')}`
    const tab = hashApiKey(secret)
    const ack = await this.gateway.submitter
      .submit('AcceptEvmPayment', {
        evmChainId: terms.evmChainId.toString(),
        token: terms.token,
        tokenName: terms.name,
        tokenVersion: terms.version,
        from: auth.from,
        to: auth.to,
        value: a.value,
        validAfter: a.validAfter,
        validBefore: a.validBefore,
        authNonce: auth.nonce,
        signature: signature.toLowerCase(),
        depositTx: transfer.evmTx,
        depositLogIndex: transfer.logIndex.toString(),
        model: quote.model.name,
        tabHash: tab,
      })
      .catch((e: unknown) => {
        // The transfer is credited already: the payer's tokens are on its Sinew balance, nothing was charged.
        throw new SinewError({
          code: isSinewError(e) ? e.code : 'payment_settlement_failed',
          message: `The transfer ${transfer.evmTx} is credited to ${auth.from} on Sinew, but the call's tab could not be opened: ${(e as Error).message}`,
          details: { ...(isSinewError(e) ? e.details : {}), evmTx: transfer.evmTx, credited: auth.value.toString(), depositTx: transfer.depositTx },
          hint: 'Nothing was charged; the tokens stay on your Sinew balance (pay with them, or withdraw them).',
        })
      })
    return { payer: auth.from, network: terms.network, maxAmount: auth.value, tab, acceptTx: ack.hash, secret, evm: { ...transfer, value: auth.value } }
  }

  /** The SettleResponse of a call served on `paid`'s tab whose receipt is `receiptId` (undefined: no receipt, nothing charged). */
  settleResponse(paid: AcceptedPayment, receiptId: string | undefined): SettleResponse {
    const state = this.gateway.node.chain.state
    const pointer = receiptId === undefined ? undefined : readReceiptPointer(state, receiptId)
    const charged = readApiKey(state, paid.tab)?.spent ?? '0'
    if (paid.evm) {
      // Scheme `exact`: the settlement is the EVM transfer, done whatever happened to the call.
      const { evmTx, depositTx, value } = paid.evm
      const served = pointer ? { receipt: receiptId, receiptTx: pointer.txHash } : { errorReason: 'call_not_served' }
      return {
        success: true,
        payer: paid.payer,
        transaction: evmTx,
        network: paid.network,
        amount: value.toString(),
        extra: { ...served, charged, credited: value.toString(), depositTx, acceptTx: paid.acceptTx },
      }
    }
    const extra = { acceptTx: paid.acceptTx, maxAmount: paid.maxAmount.toString() }
    if (!pointer) {
      return {
        success: false,
        errorReason: 'call_not_served',
        errorMessage: 'The call was not served: nothing was charged.',
        payer: paid.payer,
        transaction: '',
        network: paid.network,
        amount: '0',
        extra,
      }
    }
    return { success: true, payer: paid.payer, transaction: pointer.txHash, network: paid.network, amount: charged, extra: { ...extra, receipt: receiptId } }
  }
}

function parse<T>(schema: z.ZodType<T>, value: unknown, prefix: string): T {
  const r = schema.safeParse(value)
  if (r.success) return r.data
  const issue = r.error.issues[0]
  const field = prefix + issue.path.map(String).join('.')
  throw new SinewError({
    code: 'payment_payload_invalid',
    message: `The x402 payment payload is not valid at ${field || 'the top'}: ${issue.message}`,
    details: { field: field || null },
    hint: `Send an x402 version ${X402_VERSION} PaymentPayload {x402Version, accepted, payload} for a requirement of PAYMENT-REQUIRED.`,
  })
}

/** Payments accepted for requests being served, for their PAYMENT-RESPONSE. */
const accepted = new WeakMap<FastifyRequest, AcceptedPayment>()

/**
 * The hook of a paid route, before it serves `req`: without an API key, on a node that takes
 * x402, the call is priced and either refused 402 with PAYMENT-REQUIRED, or paid by the
 * request's PAYMENT-SIGNATURE (then `req` runs on the payment's tab).
 */
export async function admitPayment(
  x402: X402Payments | undefined,
  gateway: Gateway,
  request: FastifyRequest,
  reply: FastifyReply,
  req: CallRequest,
): Promise<void> {
  if (!x402 || req.apiKey) return
  const quote = gateway.quote(req)
  // The call runs with the max_tokens it was priced at.
  req.maxTokens = quote.maxTokens
  const path = request.url.split('?')[0]
  const where = { url: `${request.protocol}://${request.host}${path}`, path }
  const header = request.headers[PAYMENT_SIGNATURE_HEADER.toLowerCase()]
  const refuse = (e: SinewError) => {
    reply.header(PAYMENT_REQUIRED_HEADER, encodeHeader(x402.paymentRequired(quote, where, e.shortMessage)))
    return e
  }
  if (header === undefined) {
    throw refuse(
      new SinewError({
        code: 'payment_required',
        message: `This call needs payment: send an API key, or pay with x402 (${PAYMENT_REQUIRED_HEADER} says how)`,
        details: { price: quote.maxFee.toString(), model: quote.model.name },
        hint: 'An x402 client (@x402/fetch with the sinew/x402 scheme) pays it for you; or send Authorization: Bearer <key>.',
      }),
    )
  }
  try {
    const paid = await x402.accept(decodeHeader(Array.isArray(header) ? header.join(',') : header), x402.paymentRequired(quote, where), quote)
    accepted.set(request, paid)
    req.apiKey = paid.secret
  } catch (e) {
    throw e instanceof SinewError ? refuse(e) : e
  }
}

/** Adds PAYMENT-RESPONSE to the answers of calls paid with x402 (not streams: their headers leave before the receipt). */
export function installPaymentResponses(app: FastifyInstance, x402: X402Payments | undefined): void {
  if (!x402) return
  app.addHook('onSend', async (request, reply, payload) => {
    const paid = accepted.get(request)
    if (!paid) return payload
    const receipt = reply.statusCode < 400 ? reply.getHeader('x-sinew-receipt') : undefined
    reply.header(PAYMENT_RESPONSE_HEADER, encodeHeader(x402.settleResponse(paid, typeof receipt === 'string' ? receipt : undefined)))
    return payload
  })
}

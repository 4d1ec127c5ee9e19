/**
 * The node's A2A agent card (`/.well-known/agent-card.json`), in the A2A 1.0 JSON form the
 * official SDK (@a2a-js/sdk 1.x) reads: the JSON-RPC interface at `/a2a`, the skills, how
 * writes are authorised (a Sinew tx the caller signs, carried in a data part: no credential
 * opens the endpoint itself) and the ways to pay for what is paid per call (an API key, or
 * x402 where the node enables it).
 */
import { z } from 'zod'
import { SINEW_VERSION } from '../../core/index.ts'

/** The A2A protocol version this node speaks (the `A2A-Version` header a client must send). */
export const A2A_PROTOCOL_VERSION = '1.0'
/** Where the JSON-RPC binding is served. */
export const A2A_PATH = '/a2a'
/**
 * Sinew's extension: a write is a Sinew tx the caller signed (EIP-712), carried in a data part
 * as `{signedTx}`. Its params say where the types are and which chain they sign for.
 */
export const SIGNED_TX_EXTENSION = 'urn:sinew:a2a:signed-tx:v1'
/** x402 over HTTP on this node's paid routes (v2: PAYMENT-REQUIRED / PAYMENT-SIGNATURE / PAYMENT-RESPONSE). */
export const X402_EXTENSION = 'urn:sinew:a2a:x402-http:v1'
/** The media type of a data part that carries a signed Sinew tx. */
export const SIGNED_TX_MEDIA_TYPE = 'application/vnd.sinew.tx+json'

export type AgentCardOptions = {
  /** The node's public base URL, e.g. http://127.0.0.1:8545 (no trailing slash). */
  baseUrl: string
  chainId: bigint
  /** The node serves model inference (a gateway, or a replica passing it to its leader). */
  inference: boolean
  /** The node serves Datanets (search of published versions). */
  datanets: boolean
  /** The node answers paid calls without an API key with HTTP 402 (x402 v2). */
  x402: boolean
  /** The x402 schemes it takes now (`sinew`; `exact` on the settlement token once connected to the EVM chain). */
  x402Schemes?: { scheme: string; network: string; asset: string }[]
}

type SecurityRequirement = { schemes: Record<string, { list: string[] }> }
type AgentSkill = {
  id: string
  name: string
  description: string
  tags: string[]
  examples: string[]
  inputModes: string[]
  outputModes: string[]
  securityRequirements?: SecurityRequirement[]
}
type AgentExtension = { uri: string; description: string; required: boolean; params: Record<string, unknown> }

const apiKeyRequirement: SecurityRequirement[] = [{ schemes: { apiKey: { list: [] } } }]

export function agentCard(o: AgentCardOptions) {
  const base = o.baseUrl
  const skills: AgentSkill[] = [
    {
      id: 'post_task',
      name: 'Post a task',
      description: `Posts a task on the board with its reward locked in escrow. Send SendMessage with a data part {"signedTx": <PostTask tx>} (${SIGNED_TX_MEDIA_TYPE}) that you signed yourself, EIP-712 types at ${base}/v1/types, by the poster's key or a session key acting for it (envelope "delegator"), and optionally a text part: the task spec, whose sha256 must be the signed specHash (this node then stores it where workers read it). The answer is an A2A Task whose id is the Sinew task id. Nothing is posted on a malformed message.`,
      tags: ['tasks', 'escrow', 'write'],
      examples: ['Summarise the 1863 State of the Union address in 3 sentences (reward 5 SIN, deadline in 1 hour).'],
      inputModes: [SIGNED_TX_MEDIA_TYPE, 'application/json', 'text/plain'],
      outputModes: ['application/json', 'text/plain'],
    },
    {
      id: 'follow_task',
      name: 'Follow a task',
      description:
        'GetTask follows any task of the board: submitted (open, waiting for a worker), working (claimed, or a result waiting for k-of-n verifiers), input-required (a result waiting for the poster: its text is in the status message), completed (accepted: the result is the artifact), canceled, failed (the deadline passed with no accepted result). The poster answers an input-required task with SendMessage on its taskId carrying a signed VerifyResult (accept or reject), and withdraws an open task with CancelTask carrying a signed CancelTask tx in metadata.signedTx.',
      tags: ['tasks', 'read'],
      examples: ['What is the status of task 0x…?'],
      inputModes: [SIGNED_TX_MEDIA_TYPE, 'application/json'],
      outputModes: ['application/json', 'text/plain'],
    },
  ]
  if (o.inference) {
    skills.push({
      id: 'model_inference',
      name: 'Model inference with attribution',
      description: `OpenAI-compatible chat completions at ${base}/v1/chat/completions (models: ${base}/v1/models), each answer traced to the data it reproduces, with a receipt (header x-sinew-receipt). Paid per call: Authorization: Bearer <API key> granted by a GrantApiKey tx${o.x402 ? `, or without a key by x402 (see the ${X402_EXTENSION} extension)` : ''}.`,
      tags: ['inference', 'openai', 'attribution', 'paid'],
      examples: ['Chat with the model "sotu" about the 1863 address.'],
      inputModes: ['application/json'],
      outputModes: ['application/json', 'text/event-stream'],
      securityRequirements: apiKeyRequirement,
    })
  }
  if (o.datanets) {
    skills.push({
      id: 'datanet_search',
      name: 'Search Datanets',
      description: `Finds Datanets (${base}/v1/datanets) and searches the accepted contributions of a published version for text (${base}/v1/datanets/{id}/versions/{n}/search?q=…): snippets with contribution ids and authors. Also the MCP tools search_datanets and search_data at ${base}/mcp.`,
      tags: ['data', 'search', 'read'],
      examples: ['Which contributions of the SOTU Datanet mention "emancipation"?'],
      inputModes: ['application/json'],
      outputModes: ['application/json'],
    })
  }
  const extensions: AgentExtension[] = [
    {
      uri: SIGNED_TX_EXTENSION,
      description:
        'Writes are Sinew txs the caller signs (EIP-712 typed data, domain {name: "Sinew", version: "1", chainId}): a message carries one in a data part {"signedTx": {type, message, signature, delegator?}}; integers as decimal strings. The signature is the authorisation: this node signs for nobody.',
      required: false,
      params: {
        typesUrl: `${base}/v1/types`,
        chainId: o.chainId.toString(),
        mediaType: SIGNED_TX_MEDIA_TYPE,
        kinds: ['PostTask', 'VerifyResult', 'CancelTask', 'ExpireTask'],
      },
    },
  ]
  if (o.x402) {
    extensions.push({
      uri: X402_EXTENSION,
      description:
        'Pay per call without an account set up: a paid HTTP call with no API key is answered 402 with a PAYMENT-REQUIRED header (x402 version 2) listing what the node accepts; retry with PAYMENT-SIGNATURE; the answer carries PAYMENT-RESPONSE with the settlement and the Sinew receipt id. Paid MCP tools carry the same payloads as the x402 MCP transport.',
      required: false,
      params: {
        x402Version: '2',
        resources: [`${base}/v1/chat/completions`, `${base}/v1/completions`, `${base}/mcp`],
        ...(o.x402Schemes ? { schemes: o.x402Schemes } : {}),
      },
    })
  }
  return {
    name: 'Sinew node',
    description:
      'An open coordination ledger for AI: a task board with escrowed rewards and verification, an agent registry with ledger-derived reputation, attributed model inference and Datanets, all as signed, replayable txs. A2A (JSON-RPC) serves the task board; the same node serves MCP at /mcp and its HTTP API (OpenAPI at /openapi.json).',
    supportedInterfaces: [{ url: `${base}${A2A_PATH}`, protocolBinding: 'JSONRPC', protocolVersion: A2A_PROTOCOL_VERSION }],
    provider: { organization: 'Sinew node', url: base },
    version: SINEW_VERSION,
    documentationUrl: `${base}/openapi.json`,
    capabilities: { streaming: true, pushNotifications: false, extendedAgentCard: false, extensions },
    securitySchemes: {
      apiKey: {
        httpAuthSecurityScheme: {
          scheme: 'Bearer',
          bearerFormat: 'Sinew API key',
          description: 'An API key the account granted with a GrantApiKey tx (sinew apikey new), sent as Authorization: Bearer <key>; it pays model inference.',
        },
      },
    },
    // The JSON-RPC endpoint takes no credential: each write is a tx its signer authorised.
    securityRequirements: [] as SecurityRequirement[],
    defaultInputModes: [SIGNED_TX_MEDIA_TYPE, 'application/json', 'text/plain'],
    defaultOutputModes: ['application/json', 'text/plain'],
    skills,
  }
}

// ---------- the card's shape, for the OpenAPI document ----------

const stringList = z.object({ list: z.array(z.string()) })
const securityRequirement = z.object({ schemes: z.record(z.string(), stringList) })

export const agentCardSchema = z
  .object({
    name: z.string(),
    description: z.string(),
    supportedInterfaces: z.array(z.object({ url: z.string(), protocolBinding: z.string(), protocolVersion: z.string() })),
    provider: z.object({ organization: z.string(), url: z.string() }),
    version: z.string(),
    documentationUrl: z.string(),
    capabilities: z.object({
      streaming: z.boolean(),
      pushNotifications: z.boolean(),
      extendedAgentCard: z.boolean(),
      extensions: z.array(z.object({ uri: z.string(), description: z.string(), required: z.boolean(), params: z.record(z.string(), z.unknown()) })),
    }),
    securitySchemes: z.record(z.string(), z.record(z.string(), z.unknown())),
    securityRequirements: z.array(securityRequirement),
    defaultInputModes: z.array(z.string()),
    defaultOutputModes: z.array(z.string()),
    skills: z.array(
      z.object({
        id: z.string(),
        name: z.string(),
        description: z.string(),
        tags: z.array(z.string()),
        examples: z.array(z.string()),
        inputModes: z.array(z.string()),
        outputModes: z.array(z.string()),
        securityRequirements: z.array(securityRequirement).optional(),
      }),
    ),
  })
  .meta({ id: 'AgentCard', description: 'An A2A 1.0 agent card (protobuf JSON form, as @a2a-js/sdk reads it)' })

/**
 * GET /v1/usage: a team's usage, for the account that owns the key it authenticates with
 * (`Authorization: Bearer <any usable key of the account>`): calls, tokens and spend in total,
 * per key, per model and per UTC day, filtered by key, model, days, the end-user id a call
 * carried (`user`) and a tag of its `metadata`. Only the owner's own keys are ever counted; a
 * `key` filter naming another account's key is refused (403 apikey_not_yours). Spec: docs/gateway.md.
 */
import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { addressSchema, countSchema, hash32Schema, uintStringSchema } from '../../core/index.ts'
import { GatewayError, type Gateway } from '../../gateway/index.ts'
import { readApiKey, UsageIndex } from '../../models/index.ts'
import { bearer, openaiErrorResponses } from './openai-wire.ts'

const DAY = /^\d{4}-\d{2}-\d{2}$/

const usageQuery = z.object({
  key: hash32Schema.optional().describe('Only this key (it must be one of the account)'),
  model: z.string().min(1).max(64).optional(),
  from: z.string().regex(DAY).optional().describe('First UTC day, YYYY-MM-DD'),
  to: z.string().regex(DAY).optional().describe('Last UTC day, YYYY-MM-DD'),
  user: z.string().max(256).optional().describe('Only calls whose `user` field was this'),
  tag: z
    .string()
    .regex(/^[^:]{1,64}:.{0,512}$/)
    .optional()
    .describe('Only calls whose metadata had this tag, `name:value`'),
})

const row = { calls: countSchema, promptTokens: countSchema, outputTokens: countSchema, spent: uintStringSchema.describe('SIN base units') }
const usageSchema = z
  .object({
    owner: addressSchema,
    ...row,
    byKey: z.array(z.object({ keyHash: hash32Schema, label: z.string(), ...row })),
    byModel: z.array(z.object({ model: z.string(), ...row })),
    byDay: z.array(z.object({ day: z.string(), ...row })),
  })
  .meta({ id: 'Usage', description: "An account's calls, tokens and spend, in total, per key, per model and per UTC day" })

export const usageRouteSchema = {
  summary: 'OpenAI-style usage of the account that owns the key: calls, tokens and spend per key, model and day',
  tags: ['openai'],
  querystring: usageQuery,
  response: {
    200: usageSchema,
    ...openaiErrorResponses(
      'invalid_value',
      'missing_api_key',
      'invalid_api_key',
      'revoked_api_key',
      'expired_api_key',
      'too_many_auth_failures',
      'apikey_not_yours',
    ),
  },
}

export function registerUsage(app: FastifyInstance, o: { gateway: Gateway }): void {
  const { gateway } = o
  const index = UsageIndex.of(gateway.node.store)
  app.get('/v1/usage', { schema: usageRouteSchema }, async (request) => {
    const owner = gateway.ownerOf(bearer(request), request.ip)
    const q = usageQuery.parse(request.query)
    if (q.key) {
      const k = readApiKey(gateway.state, q.key)
      if (!k || k.owner !== owner)
        throw new GatewayError({
          code: 'apikey_not_yours',
          message: 'The key named in `key` is not one of the account that owns the key you sent: usage is shown to its owner only.',
          type: 'permission_error',
          param: 'key',
        })
    }
    await index.update()
    const tag = q.tag === undefined ? undefined : ([q.tag.slice(0, q.tag.indexOf(':')), q.tag.slice(q.tag.indexOf(':') + 1)] as [string, string])
    const report = index.report(owner, { keyHash: q.key, model: q.model, from: q.from, to: q.to, user: q.user, tag })
    return { ...report, byKey: report.byKey.map((r) => ({ ...r, label: readApiKey(gateway.state, r.keyHash)?.label ?? '' })) }
  })
}

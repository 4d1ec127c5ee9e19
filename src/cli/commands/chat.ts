/** `sinew chat <model> "prompt"`: streams an answer through the gateway, then prints who it is attributed to. */
import { Command } from 'commander'
import OpenAI from 'openai'
import { formatUnits, RemoteError, SinewError } from '../../core/index.ts'
import { defaultNodeUrl, NodeClient } from '../../client/index.ts'
import { action, printJson } from '../output.ts'
import { nodeOption } from '../options.ts'

export function chatCommand(): Command {
  return new Command('chat')
    .description('ask a model through the gateway (streams), then print the receipt: fee, coverage, contributors paid')
    .argument('<model>')
    .argument('<prompt>')
    .option('--api-key <key>', 'Sinew API key (default SINEW_API_KEY or OPENAI_API_KEY)')
    .option('--max-tokens <n>', 'most output tokens', '128')
    .option('--temperature <t>', 'sampling temperature')
    .option('--seed <n>', 'sampling seed')
    .addOption(nodeOption())
    .option('--json', 'print the answer and receipt as JSON instead of streaming')
    .action(
      action(
        async (
          model: string,
          prompt: string,
          flags: { apiKey?: string; maxTokens: string; temperature?: string; seed?: string; node?: string; json?: boolean },
        ) => {
          const apiKey = flags.apiKey ?? process.env.SINEW_API_KEY ?? process.env.OPENAI_API_KEY
          if (!apiKey)
            throw new SinewError({
              code: 'missing_field',
              message: 'No API key: pass --api-key or set SINEW_API_KEY (make one with `sinew apikey new`)',
              details: { field: '--api-key' },
            })
          const nodeUrl = (flags.node ?? defaultNodeUrl()).replace(/\/$/, '')
          const openai = new OpenAI({ baseURL: `${nodeUrl}/v1`, apiKey, maxRetries: 0 })
          let stream
          try {
            stream = await openai.chat.completions.create({
              model,
              messages: [{ role: 'user', content: prompt }],
              max_tokens: Number(flags.maxTokens),
              stream: true,
              ...(flags.temperature !== undefined ? { temperature: Number(flags.temperature) } : {}),
              ...(flags.seed !== undefined ? { seed: Number(flags.seed) } : {}),
            })
          } catch (e) {
            if (e instanceof OpenAI.APIError)
              throw new RemoteError({
                status: e.status ?? 502,
                code: String(e.code ?? 'api_error'),
                message: `${e.message}`,
                details: { status: e.status ?? null },
              })
            throw e
          }
          let text = ''
          let sinew: any
          for await (const chunk of stream) {
            const d = chunk.choices[0]?.delta?.content ?? ''
            text += d
            if (!flags.json) process.stdout.write(d)
            if ((chunk as any).sinew) sinew = (chunk as any).sinew
          }
          const receipt = sinew ? await new NodeClient(nodeUrl).get(`/v1/receipts/${sinew.receipt}`) : undefined
          if (flags.json) return printJson({ text, receipt })
          process.stdout.write('\n\n')
          if (!receipt) return
          // Whose text it was, by the contributions' titles (the receipt holds ids and authors).
          const shown = receipt.weights.slice(0, 10)
          const client = new NodeClient(nodeUrl)
          const titles = await Promise.all(
            shown.map((w: any) =>
              client.get(`/v1/contributions/${w.contribution}`).then(
                (c: any) => String(c.title ?? ''),
                () => '',
              ),
            ),
          )
          const lines = [
            `receipt ${receipt.id}  (block ${receipt.height})`,
            `  ${receipt.outputTokens} tokens, fee ${formatUnits(BigInt(receipt.split.fee))} SIN; ${(receipt.coverageBps / 100).toFixed(2)} % of the output traced to the data`,
            `  treasury ${formatUnits(BigInt(receipt.split.protocolFee))}  contributors ${formatUnits(BigInt(receipt.split.contributorPool))}  owner ${formatUnits(BigInt(receipt.split.ownerAmount))} SIN`,
            ...shown.flatMap((w: any, i: number) => {
              const paid = receipt.split.contributors.find((c: any) => c.contribution === w.contribution)
              return [
                `    ${(w.bps / 100).toFixed(2).padStart(6)} %  ${titles[i] ? JSON.stringify(titles[i]) : w.contribution}  ${formatUnits(BigInt(paid?.amount ?? '0'))} SIN to ${w.author}`,
                ...(titles[i] ? [`              contribution ${w.contribution} (datanet ${w.datanet})`] : []),
              ]
            }),
            `  check it: sinew receipt verify ${receipt.id} --output <file with the text above>`,
          ]
          process.stdout.write(lines.join('\n') + '\n')
        },
      ),
    )
}

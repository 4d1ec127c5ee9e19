/**
 * `sinew mcp`: the node's MCP tools over stdio, for a local agent (Claude Desktop, an IDE,
 * an agent framework). With --from/--dev-account the write tools sign with that key; the
 * tools talk to the node over HTTP (--node).
 */
import { Command } from 'commander'
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js'
import { privateKeyToAccount } from 'viem/accounts'
import { createMcpServer, type McpSigner } from '../../server/mcp/index.ts'
import { NodeClient, signEnvelope, type TypesInfo } from '../../client/index.ts'
import { SinewError } from '../../core/index.ts'
import { reportError } from '../output.ts'
import { readSessionKey, signAsSessionKey } from './delegate.ts'
import { signerKey, withSigner, type SignerFlags } from './tx.ts'
import { nodeOption } from '../options.ts'

export function mcpCommand(): Command {
  return withSigner(
    new Command('mcp').description(
      'serve the MCP tools over stdio; write tools sign with --from (SINEW_PASSWORD), --dev-account or --session-key; without one, read tools only',
    ),
  )
    .option('--session-key <file>', 'sign as a session key (a file from `sinew delegate new`): txs act for its delegator, within its grant')
    .addOption(nodeOption())
    .action(async (flags: SignerFlags & { node?: string; sessionKey?: string }) => {
      try {
        const client = new NodeClient(flags.node)
        let signer: McpSigner | undefined
        if (flags.sessionKey !== undefined) {
          if (flags.from !== undefined || flags.devAccount !== undefined) {
            throw new SinewError({
              code: 'invalid_field',
              message: '--session-key signs for its delegator: give it alone, without --from or --dev-account',
              details: { field: '--session-key' },
            })
          }
          const session = readSessionKey(flags.sessionKey)
          // The tools act for the delegator (balances, "me"); the session key signs with its own nonce.
          signer = { address: session.delegator, sign: (type, message) => signAsSessionKey(client, session, type, message) }
        } else if (flags.from !== undefined || flags.devAccount !== undefined) {
          const key = await signerKey(flags)
          const address = privateKeyToAccount(key).address.toLowerCase() as McpSigner['address']
          signer = {
            address,
            async sign(type, message) {
              const [types, account] = await Promise.all([client.get<TypesInfo>('/v1/types'), client.get(`/v1/accounts/${address}`)])
              return signEnvelope(key, types, type, { ...message, nonce: account.nonce })
            },
          }
        }
        const server = createMcpServer({ api: client, signer, transport: 'stdio' })
        await server.connect(new StdioServerTransport())
        process.stderr.write(
          `sinew mcp: serving on stdio for ${client.url}${signer ? ` as ${signer.address}${flags.sessionKey ? ' (session key)' : ''}` : ' (read-only: no signer)'}\n`,
        )
      } catch (e) {
        reportError(e, false)
      }
    })
}

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
import { reportError } from '../output.ts'
import { signerKey, withSigner, type SignerFlags } from './tx.ts'
import { nodeOption } from '../options.ts'

export function mcpCommand(): Command {
  return withSigner(
    new Command('mcp').description(
      'serve the MCP tools over stdio; write tools sign with --from (SINEW_PASSWORD) or --dev-account; without either, read tools only',
    ),
  )
    .addOption(nodeOption())
    .action(async (flags: SignerFlags & { node?: string }) => {
      try {
        const client = new NodeClient(flags.node)
        let signer: McpSigner | undefined
        if (flags.from !== undefined || flags.devAccount !== undefined) {
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
        process.stderr.write(`sinew mcp: serving on stdio for ${client.url}${signer ? ` as ${signer.address}` : ' (read-only: no signer)'}\n`)
      } catch (e) {
        reportError(e, false)
      }
    })
}

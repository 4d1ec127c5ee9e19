/** `sinew init`: write a genesis (and a sequencer key) into a new data dir. */
import { Command } from 'commander'
import { loadConfig } from '../../core/index.ts'
import { genesisHash, genesisToJson } from '../../ledger/index.ts'
import { initDataDir } from '../data-dir.ts'
import { action, printJson, printLines } from '../output.ts'

export function initCommand(): Command {
  return new Command('init')
    .description('create a new chain in a data dir: genesis.json, and an encrypted sequencer key (node-key.json)')
    .option('--data-dir <dir>', 'data directory (default ~/.sinew/dev, or SINEW_DATA_DIR)')
    .option('--dev', 'an INSECURE dev chain: funds the first 10 accounts of the public test mnemonic')
    .option('--network <name>', 'network name', 'local')
    .option('--chain-id <id>', 'EIP-712 chainId (default: random)')
    .option('--protocol-fee-bps <bps>', 'protocol fee in basis points', '500')
    .option('--treasury <address>', 'treasury address (default: the sequencer)')
    .option('--alloc <address=amount...>', 'initial balance in base units (repeatable)')
    .option('--force', 'overwrite an existing genesis.json (only before the node first ran)')
    .option('--json', 'print JSON')
    .action(
      action(
        async (flags: {
          dataDir?: string
          dev?: boolean
          network?: string
          chainId?: string
          protocolFeeBps?: string
          treasury?: string
          alloc?: string[]
          force?: boolean
          json?: boolean
        }) => {
          const { dataDir } = loadConfig({ flags: { dataDir: flags.dataDir } })
          const result = await initDataDir({ ...flags, dataDir })
          const hash = genesisHash(result.genesis)
          if (flags.json)
            return printJson({
              dataDir,
              genesisFile: result.genesisFile,
              genesisHash: hash,
              keyFile: result.keyFile ?? null,
              genesis: genesisToJson(result.genesis),
            })
          printLines(
            `Initialised ${result.genesis.insecure ? 'an INSECURE dev chain' : 'a chain'} in ${dataDir}`,
            `  genesis   ${result.genesisFile} (${hash})`,
            `  chainId   ${result.genesis.chainId}`,
            `  sequencer ${result.genesis.sequencer}${result.keyFile ? ` (key in ${result.keyFile})` : ' (public dev key)'}`,
            ...(result.genesis.insecure ? ['  INSECURE: funded keys come from the public test mnemonic.'] : []),
            `Start it with: sinew node --data-dir ${dataDir}`,
          )
        },
      ),
    )
}

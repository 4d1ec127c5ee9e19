/** Options many commands share, defined once so their names, help and defaults agree. */
import { type Command, Option } from 'commander'

/** Which node a command talks to: --node, else SINEW_NODE, else the local default (client defaultNodeUrl). */
export const nodeOption = (): Option => new Option('--node <url>', 'node URL (default: SINEW_NODE, else http://127.0.0.1:8545)')

/** --node and --json, for commands that read from or write to a node. */
export const withNode = (c: Command): Command => c.addOption(nodeOption()).option('--json', 'print JSON')

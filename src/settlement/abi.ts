/**
 * The parts of the settlement contract's ABI the node and the CLI use, as fixed by the
 * interface (docs/settlement.md); the full compiled ABI is in ./contracts.ts.
 */
import { parseAbi } from 'viem'

export const settlementAbi = parseAbi([
  'struct Header { uint64 height; bytes32 parentHash; uint64 timestamp; bytes32 txRoot; bytes32 stateRoot; bytes32 receiptsRoot; uint32 txCount; address proposer; }',
  'event Deposited(address indexed from, address indexed sinewAccount, uint256 amount)',
  'event CheckpointPosted(uint64 indexed height, bytes32 blockHash, bytes32 stateRoot)',
  'event Withdrawn(bytes32 indexed id, address indexed recipient, uint256 amount)',
  'event Escaped(address indexed account, uint256 amount)',
  'function deposit(uint256 amount, address sinewAccount)',
  'function postCheckpoint(Header header, bytes signature)',
  'function lastCheckpointHeight() view returns (uint64)',
  'function lastCheckpointTime() view returns (uint64)',
  'function stateRoots(uint64 height) view returns (bytes32)',
  'function sequencer() view returns (address)',
  'function token() view returns (address)',
  'function escapeDelay() view returns (uint64)',
  'function escaped() view returns (bool)',
  'function withdrawn(bytes32 id) view returns (bool)',
  'function escapedAccount(address account) view returns (bool)',
])

export const erc20Abi = parseAbi([
  'function balanceOf(address account) view returns (uint256)',
  'function approve(address spender, uint256 amount) returns (bool)',
  'function transfer(address to, uint256 amount) returns (bool)',
  'function decimals() view returns (uint8)',
])

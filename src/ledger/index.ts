/** The ledger: tx kinds, execution, blocks, state and proofs. Public surface of src/ledger. */
export { parseAddress, ZERO_ADDRESS, type Address } from './address.ts'
export { accountKey, credit, debit, decodeAccount, encodeAccount, readAccount, writeAccount, type Account } from './accounts.ts'
export { BlockMismatchError, Chain, genesisHeader, ZERO_ROOT, type CommittedBlock, type ProducedBlock } from './chain.ts'
export { executeTxs, type BlockEnv, type Execution } from './execute.ts'
export {
  DEV_BALANCE,
  DEV_CHAIN_ID,
  devGenesis,
  GENESIS_FORMAT,
  genesisHash,
  genesisToJson,
  genesisWrites,
  insecureDevKey,
  PARAMS_KEY,
  parseGenesis,
  type Genesis,
  type GenesisAlloc,
  type ProtocolParams,
} from './genesis.ts'
export { encodeHeader, headerHash, headerJsonSchema, headerToJson, type BlockHeader, type HeaderJson, type SignedHeader } from './header.ts'
export {
  defineTxKind,
  eip712Types,
  NONCE_FIELD,
  requireSequencer,
  TxKindRegistry,
  type TxContext,
  type TxKind,
  type TxKindDefinition,
  type TxMessage,
  type TxResult,
} from './kinds.ts'
export { LedgerNode, type LedgerNodeOptions } from './ledger-node.ts'
export {
  messageToWire,
  parseMessage,
  type FieldsValue,
  type Message,
  type MessageOf,
  type MessageValue,
  type NoStructs,
  type TypedField,
  type TypedFields,
  type TypedValue,
} from './message.ts'
export { Sequencer, type StorageFaultStatus, type TxAck, type TxOutcome } from './sequencer.ts'
export { canonicalStateKey, StateProver, type KeyProof } from './state-prover.ts'
export { CommittedState, readJson, StateOverlay, stateKeyHash, stateValueHash, type StateReader, type StateWrites } from './state.ts'
export { transferKind, type TransferMessage } from './transfer.ts'
export {
  ACT_FOR_TYPE,
  actForFields,
  delegateKind,
  delegationKey,
  getDelegation,
  listDelegations,
  revokeDelegateKind,
  UNDELEGABLE_KINDS,
  type DelegateMessage,
  type DelegationRecord,
} from './delegation.ts'
export {
  authorizationOf,
  checkPaymentAuthorization,
  PAYMENT_AUTHORIZATION_TYPE,
  paymentAuthorizationDigest,
  paymentAuthorizationFields,
  paymentAuthorizationTxFields,
  paymentNonceKey,
  settlePaymentKind,
  sinewNetwork,
  type PaymentAuthorization,
  type SettlePaymentMessage,
} from './payment.ts'
export {
  parseTxEnvelope,
  receiptJson,
  signingDomain,
  storedDelegator,
  TxCodec,
  txHash,
  type DecodedTx,
  type Receipt,
  type SignedTx,
  type TxEnvelope,
} from './tx.ts'
export {
  listLeaf,
  merkleProof,
  merkleRoot,
  parseStateProof,
  SparseMerkleTree,
  verifyMerkleProof,
  verifyStateProof,
  ZERO_HASH,
  type StateProof,
} from './merkle/index.ts'
export { addressOf, InvalidSignatureError, parseSignature, recoverSigner, signDigest, SignatureRecoveryPool } from './signing/index.ts'
export { replayChain, type ReplayMismatch, type ReplayOptions, type ReplayReport } from './verify.ts'

import { delegateKind, revokeDelegateKind } from './delegation.ts'
import { settlePaymentKind } from './payment.ts'
import { TxKindRegistry } from './kinds.ts'
import { transferKind } from './transfer.ts'

/** The ledger's own kinds. Domain modules register theirs on the returned registry. */
export function createLedgerRegistry(): TxKindRegistry {
  return new TxKindRegistry().register(transferKind, delegateKind, revokeDelegateKind, settlePaymentKind)
}
export { checkProofBundle, parseHeaderJson, type ProofCheck } from './proof-bundle.ts'

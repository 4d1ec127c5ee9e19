/**
 * Signing layer: EIP-712 hashing, signature parsing and signer recovery (native
 * libsecp256k1), signing, and a worker pool for batch recovery. This file is the public
 * surface; import from here, not from the modules behind it.
 */
export { createTypedDataHasher, domainSeparator, encodeType, type Eip712Domain, type TypedField } from './eip712.ts'
export {
  InvalidSignatureError,
  addressOf,
  checkSignature,
  nativeSecp256k1,
  parseSignature,
  recoverSigner,
  signDigest,
  type InvalidSignatureReason,
} from './signature.ts'
export { INLINE_BELOW, SignatureRecoveryPool, type RecoveryItem, type RecoveryResult } from './pool.ts'

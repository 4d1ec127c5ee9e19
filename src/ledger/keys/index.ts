/**
 * Key storage: v3 encrypted key files (Web3 Secret Storage), the key directory under the
 * data dir, and the insecure, well-known dev accounts. This file is the public surface.
 */
export { DEFAULT_SCRYPT_N, decryptKeystore, encryptKeystore, type EncryptOptions, type KeystoreV3 } from './keystore.ts'
export { keysDir, listKeys, loadKey, saveKey, type KeyEntry } from './dir.ts'
export { DEV_MNEMONIC, devAccounts, type DevAccount } from './dev.ts'

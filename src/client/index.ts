/** Clients of the node's API. Public surface of src/client. */
export { createApiClient, type Answer, type CallInit, type components, type ApiClient, type Operation, type paths, type PathWith } from './api.ts'
export { defaultNodeUrl, NodeClient, signEnvelope, type Exchange, type NodeApi, type TypesInfo } from './node-client.ts'
export { checkSignedHash, INLINE_TEXT_BYTES, readBlobText, storeBlob, withTaskTexts, type BlobRef, type BlobText, type StoredBlob } from './task-blobs.ts'

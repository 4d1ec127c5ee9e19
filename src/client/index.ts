/** Clients of the node's API. Public surface of src/client. */
export { createApiClient, type Answer, type CallInit, type components, type ApiClient, type Operation, type paths, type PathWith } from './api.ts'

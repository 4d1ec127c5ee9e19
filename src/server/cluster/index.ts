export { internalOnly, newInternalSecret, servingWorkers, WorkerPool, type WorkerStatus } from './writer.ts'
export { installForwarding, isLocalRead, type ForwardOptions } from './forward.ts'
export { WORKER_HEADER, INTERNAL_SECRET_HEADER } from './messages.ts'

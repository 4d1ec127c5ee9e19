export { buildServer, type ServerOptions } from './app.ts'
export { startNode, type RunningNode, type StartNodeOptions } from './node.ts'
export { txToJson } from './routes/ledger.ts'
export { servingWorkers, WORKER_HEADER, type WorkerStatus } from './cluster/index.ts'

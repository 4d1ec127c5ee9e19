export { buildServer, type ServerOptions } from './app.ts'
export { Follower, type FollowerHooks, type FollowerStatus } from './follower.ts'
export { createNodeRegistry, startNode, storeFile, type RunningNode, type StartNodeOptions } from './node.ts'
export { txToJson } from './routes/ledger.ts'

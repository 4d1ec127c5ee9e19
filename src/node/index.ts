export { assembleNode, createNodeRegistry, storeFile, type AssembledNode, type AssembleNodeOptions } from './assemble.ts'
export { Follower, type FollowerHooks, type FollowerStatus } from './follower.ts'
export { copyStore, type CopyProgress, type CopyReport } from './store-copy.ts'
export { Failover, type FailoverOptions, type FailoverStatus } from './failover.ts'

/**
 * Where a node takes the time from: block timestamps, API-key expiry, task deadlines and
 * leases as the HTTP API reports them. Milliseconds since the epoch, as a bigint like every
 * ledger integer. One clock per node, so a test can move a node's time forward instead of
 * sleeping through a deadline.
 */
export type Clock = () => bigint

export const systemClock: Clock = () => BigInt(Date.now())

export type ShardJob = { tokens: Int32Array; n: number; k: number; tokPath: string; saPath: string }
export type ShardResult = { n: number; tokWidth: number; saWidth: number; tokSha256: string; saSha256: string; saMs: number; saStart: number; saEnd: number }
export function widthFor(maxValue: number): number
export function writePacked(path: string, values: ArrayLike<number>, n: number, width: number): string
export function buildShard(job: ShardJob): ShardResult

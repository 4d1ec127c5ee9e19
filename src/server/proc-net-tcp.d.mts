export declare const PROC_NET_TCP: { readonly 4: '/proc/net/tcp'; readonly 6: '/proc/net/tcp6' }
export function readProcFile(file: string, holder: { buf: Buffer }): string
export function parseTable(text: string, family: 4 | 6): Map<string, number>

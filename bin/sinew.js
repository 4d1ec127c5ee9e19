#!/usr/bin/env -S node --max-semi-space-size=32
// The `sinew` command: runs the TypeScript CLI through tsx so there is no build step.
// --max-semi-space-size=32 (also in package.json's start and sinew scripts): a node serving
// many streams allocates a little per chunk; a larger young generation scavenges less often,
// which took the gateway's p99 added latency at 100 streams from 15-50 ms to 10-14 ms
// (bench/gateway.bench.ts). It is a ceiling, so short CLI commands are unaffected.
import { register } from 'tsx/esm/api'

register()
await import('../src/cli/main.ts')

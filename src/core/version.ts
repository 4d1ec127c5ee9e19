/**
 * The version of Sinew: package.json's, read once at start-up, so it is written in one
 * place. It depends on nothing else, so the CLI can print it without loading the rest of core.
 */
import { readFileSync } from 'node:fs'

export const SINEW_VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version

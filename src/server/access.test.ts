import { describe, expect, it } from 'vitest'
import { isHostAllowed, isOriginAllowed, type AccessPolicy } from './access.ts'

const local: AccessPolicy = { boundHost: '127.0.0.1', allowedHosts: [], allowedOrigins: [] }

describe('isHostAllowed', () => {
  it('answers localhost and IP addresses on any port, and refuses names (DNS rebinding)', () => {
    for (const host of ['localhost', 'localhost:8545', 'LOCALHOST:1', '127.0.0.1:8545', '10.0.0.7', '[::1]:8545', '[fe80::1]'])
      expect(isHostAllowed(host, local), host).toBe(true)
    for (const host of ['evil.example.com', 'evil.example.com:8545', 'localhost.evil.example.com', '127.0.0.1.nip.io:8545', 'localhost.'])
      expect(isHostAllowed(host, local), host).toBe(false)
  })
  it('refuses Host values no browser sends: a path, credentials, spaces, empty', () => {
    for (const host of ['localhost/x', 'evil.example.com@localhost', 'localhost@evil.example.com', 'local host', '', 'a\\b'])
      expect(isHostAllowed(host, local), host).toBe(false)
  })
  it('answers the name it binds, unless that is a wildcard', () => {
    expect(isHostAllowed('sinew.lan:8545', { ...local, boundHost: 'sinew.lan' })).toBe(true)
    expect(isHostAllowed('sinew.lan', { ...local, boundHost: '0.0.0.0' })).toBe(false)
    expect(isHostAllowed('192.168.1.20:8545', { ...local, boundHost: '0.0.0.0' })).toBe(true)
  })
  it('answers listed names: a bare name on any port, name:port on that port; * answers anything', () => {
    const p = { ...local, allowedHosts: ['node.example.org', 'api.example.org:8443'] }
    expect(isHostAllowed('node.example.org:443', p)).toBe(true)
    expect(isHostAllowed('NODE.example.org', p)).toBe(true)
    expect(isHostAllowed('api.example.org:8443', p)).toBe(true)
    expect(isHostAllowed('api.example.org', p)).toBe(false)
    expect(isHostAllowed('sub.node.example.org', p)).toBe(false)
    expect(isHostAllowed('evil.example.com', { ...local, allowedHosts: ['*'] })).toBe(true)
  })
})

describe('isOriginAllowed', () => {
  it("allows the node's own origin under the Host the request names, and nothing else by default", () => {
    expect(isOriginAllowed('http://127.0.0.1:8545', '127.0.0.1:8545', local)).toBe(true)
    expect(isOriginAllowed('https://node.example.org', 'node.example.org', local)).toBe(true)
    expect(isOriginAllowed('https://node.example.org', 'node.example.org:443', local)).toBe(true)
    for (const origin of ['http://127.0.0.1:3000', 'http://localhost:8545', 'null', 'file:///x', 'chrome-extension://abc', 'x'])
      expect(isOriginAllowed(origin, '127.0.0.1:8545', local), origin).toBe(false)
  })
  it('allows listed origins, and any with *', () => {
    const p = { ...local, allowedOrigins: ['https://app.example.org', 'http://localhost:5173'] }
    expect(isOriginAllowed('https://app.example.org', '127.0.0.1:8545', p)).toBe(true)
    expect(isOriginAllowed('http://localhost:5173', '127.0.0.1:8545', p)).toBe(true)
    expect(isOriginAllowed('http://app.example.org', '127.0.0.1:8545', p)).toBe(false)
    expect(isOriginAllowed('https://app.example.org:8443', '127.0.0.1:8545', p)).toBe(false)
    expect(isOriginAllowed('https://evil.example.com', '127.0.0.1:8545', { ...local, allowedOrigins: ['*'] })).toBe(true)
  })
})

import { createServer, type ServerResponse } from 'node:http'
import { existsSync } from 'node:fs'
import { connect, type AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import { TcpSendQueues } from '../tcp-send-queue.ts'
import { SseStream } from './openai-sse.ts'

/** An HTTP server whose one response is driven by the test through an SseStream. */
async function withStream(queues: TcpSendQueues, run: (sse: SseStream, res: ServerResponse) => Promise<void>): Promise<void> {
  let handled!: Promise<void>
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    handled = run(new SseStream(res, { queues, stallTimeoutMs: 60_000 }), res)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as AddressInfo).port
  // The client's own outcome does not matter (a test may cut its connection); the handler's does.
  await fetch(`http://127.0.0.1:${port}/`)
    .then((r) => r.text())
    .catch(() => {})
  await handled
  server.close()
}

const noProc = new TcpSendQueues({
  read: () => {
    throw new Error('ENOENT')
  },
})

describe('SseStream without /proc', () => {
  it('a client that reads everything gets every frame counted', async () => {
    await withStream(noProc, async (sse, res) => {
      let chars = 0
      for (let i = 0; i < 100; i++) {
        const text = `word${i} `
        chars += text.length
        await sse.frame(`data: ${JSON.stringify(text)}\n\n`, text.length)
      }
      expect(await sse.settle()).toBe(chars)
      res.end()
    })
  })

  it('frames still in the process when the connection dies are not counted, and writes over the high-water mark wait', async () => {
    await withStream(noProc, async (sse, res) => {
      // All in one tick: the frames are corked in the process, none has reached the kernel.
      let waits = 0
      for (let i = 0; i < 40; i++) if (sse.frame(`data: ${'x'.repeat(1000)}\n\n`, 1000)) waits++
      expect(waits).toBeGreaterThan(0)
      res.socket!.destroy()
      if (!sse.gone.aborted) await new Promise((r) => res.once('close', r))
      expect(sse.gone.aborted).toBe(true)
      expect(await sse.settle()).toBe(0)
    })
  })
})

describe.runIf(existsSync('/proc/net/tcp'))('SseStream with /proc', () => {
  it('a client that reads some frames and closes its side pays for what it acknowledged, even between snapshots', async () => {
    // One snapshot at the start, then none for an hour: only the close can tell the node more.
    const queues = new TcpSendQueues({ minIntervalMs: 3_600_000 })
    const charged = new Promise<number>((resolve) => {
      const server = createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' })
        const sse = new SseStream(res, { queues, stallTimeoutMs: 60_000 })
        const timer = setInterval(() => {
          if (sse.gone.aborted) {
            clearInterval(timer)
            void sse.settle().then(resolve)
            server.close()
          } else void sse.frame('data: 1234567890\n\n', 10)
        }, 20)
      })
      server.listen(0, '127.0.0.1', () => {
        const client = connect((server.address() as AddressInfo).port, '127.0.0.1', () => client.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n'))
        let got = ''
        client.on('data', (d) => {
          got += d
          if ((got.match(/data: /g) ?? []).length === 5) client.end() // FIN: nothing unread
        })
      })
    })
    expect(await charged).toBeGreaterThanOrEqual(50)
  })
})

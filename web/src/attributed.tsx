/**
 * An output with its attributed spans highlighted (each a focusable span that shows, on hover, focus
 * or tap, the contribution, its Datanet and author), and the receipt's money: fee, coverage
 * and the split as a bar (treasury, owner, each contributor). Offsets are UTF-16 code units
 * (docs/attribution.md), i.e. JavaScript string indices.
 */
import { useEffect, useState } from 'react'
import { api, type Schemas } from './api.ts'
import { bps, formatSin, short } from './format.ts'
import { Link } from './router.tsx'
import { AccountLink, Amount } from './ui.tsx'

export type Receipt = Schemas['InferenceReceipt']

/** The Datanet id of a version ref `<id>@<n>`. */
export const datanetId = (ref: string) => ref.split('@')[0]

type SpanInfo = { contribution: string; title?: string; datanet: string; datanetName?: string; author: string }

/** Titles and Datanet names of the receipt's contributions, read once. */
function useSpanInfo(receipt: Receipt): Map<string, SpanInfo> {
  const [info, setInfo] = useState(() => new Map<string, SpanInfo>(receipt.weights.map((w) => [w.contribution, { ...w }])))
  useEffect(() => {
    let stop = false
    const ids = [...new Set(receipt.weights.map((w) => w.contribution))]
    // A weight names the Datanet version (<id>@<n>).
    const datanets = [...new Set(receipt.weights.map((w) => datanetId(w.datanet)))]
    Promise.all([
      Promise.all(ids.map((id) => api.get('/v1/contributions/{id}', { path: { id } }).catch(() => undefined))),
      Promise.all(datanets.map((id) => api.get('/v1/datanets/{id}', { path: { id } }).catch(() => undefined))),
    ]).then(([cs, ds]) => {
      if (stop) return
      const names = new Map(ds.filter((d) => d).map((d) => [d!.id, d!.name]))
      const m = new Map<string, SpanInfo>()
      for (const w of receipt.weights) {
        const c = cs.find((x) => x?.id === w.contribution)
        m.set(w.contribution, { ...w, title: c?.title, datanetName: names.get(datanetId(w.datanet)) })
      }
      setInfo(m)
    })
    return () => {
      stop = true
    }
  }, [receipt])
  return info
}

/** `text` with the receipt's spans marked; spans by `highlight` (an author) stand out. */
export function AttributedOutput({ text, receipt, highlight }: { text: string; receipt: Receipt; highlight?: string }) {
  const info = useSpanInfo(receipt)
  const [active, setActive] = useState<number>()
  const spans = [...receipt.spans].sort((a, b) => a.start - b.start)
  const parts: React.ReactNode[] = []
  let at = 0
  spans.forEach((s, i) => {
    if (s.start < at || s.end > text.length) return
    if (s.start > at) parts.push(text.slice(at, s.start))
    const who = info.get(s.contribution)
    const own = !!highlight && who?.author.toLowerCase() === highlight.toLowerCase()
    parts.push(
      // An inline element wraps across lines as the text does (a <button> would not): a span made operable.
      // biome-ignore lint/a11y/useSemanticElements: see above
      <span
        key={`${s.start}-${s.end}`}
        role="button"
        className={`span${own ? ' own' : ''}`}
        data-contribution={s.contribution}
        data-author={who?.author}
        tabIndex={0}
        aria-describedby={active === i ? 'span-detail' : undefined}
        onMouseEnter={() => setActive(i)}
        onFocus={() => setActive(i)}
        onClick={() => setActive(i)}
        onKeyDown={(e) => (e.key === 'Enter' || e.key === ' ') && setActive(i)}
      >
        {text.slice(s.start, s.end)}
      </span>,
    )
    at = s.end
  })
  if (at < text.length) parts.push(text.slice(at))
  const a = active === undefined ? undefined : info.get(spans[active]?.contribution)
  return (
    <div>
      <div className="output" data-testid="output">
        {parts}
      </div>
      <div id="span-detail" role="status" aria-live="polite" className="card" style={{ minHeight: '3em' }}>
        {a ? (
          <>
            “{text.slice(spans[active!].start, spans[active!].end)}” ({spans[active!].tokens} tokens) comes from{' '}
            <strong>{a.title ?? short(a.contribution)}</strong> in Datanet{' '}
            <Link to={`/datanets/${datanetId(a.datanet)}`}>{a.datanetName ? `${a.datanetName} v${a.datanet.split('@')[1] ?? ''}` : short(a.datanet)}</Link>,
            contributed by <AccountLink address={a.author} />.
          </>
        ) : (
          <span className="muted">
            {receipt.spans.length === 0
              ? 'No part of this output was traced to the data.'
              : 'Hover, focus or tap a highlighted span to see where it comes from.'}
          </span>
        )}
      </div>
    </div>
  )
}

const COLORS = ['#6e7781', '#0b57d0', '#1a7f37', '#bf8700', '#8250df', '#cf222e', '#0a7ea4', '#953800']

/** Fee, coverage and the split as a bar: every amount exact, in base units on hover. */
export function ReceiptSummary({ receipt, highlight }: { receipt: Receipt; highlight?: string }) {
  const s = receipt.split
  const fee = BigInt(s.fee)
  const parts: { key: string; label: string; who: string; amount: bigint }[] = [
    { key: 'treasury', label: 'Treasury (protocol fee)', who: s.treasury, amount: BigInt(s.protocolFee) },
    { key: 'owner', label: 'Model owner', who: s.owner, amount: BigInt(s.ownerAmount) },
    ...s.contributors.map((c) => ({ key: c.contribution, label: 'Contributor', who: c.author, amount: BigInt(c.amount) })),
  ]
  return (
    <div className="card" data-testid="receipt">
      <h2 style={{ marginTop: 0 }}>Receipt</h2>
      <dl className="kv">
        <dt>Fee</dt>
        <dd>
          <Amount value={s.fee} />
        </dd>
        <dt>Coverage</dt>
        <dd>
          {bps(receipt.coverageBps)} of {receipt.outputTokens} output tokens traced to the data
        </dd>
        <dt>Model</dt>
        <dd>
          {receipt.model} v{receipt.modelVersion}
        </dd>
        <dt>On the ledger</dt>
        <dd>
          <Link to={`/receipts/${receipt.id}`}>receipt {short(receipt.id)}</Link> in tx <Link to={`/tx/${receipt.tx}`}>{short(receipt.tx)}</Link>, block{' '}
          <Link to={`/blocks/${receipt.height}`}>{receipt.height}</Link>
        </dd>
      </dl>
      <div className="splitbar" role="img" aria-label={`Split of the fee: ${parts.map((p) => `${p.label} ${formatSin(p.amount)}`).join(', ')}`}>
        {fee > 0n
          ? parts.map((p, i) =>
              p.amount > 0n ? (
                <span
                  key={p.key}
                  style={{ width: `${Number((p.amount * 10000n) / fee) / 100}%`, background: COLORS[i % COLORS.length] }}
                  title={`${p.label}: ${formatSin(p.amount)}`}
                />
              ) : null,
            )
          : null}
      </div>
      <ul className="legend">
        {parts.map((p, i) => (
          <li
            key={p.key}
            data-testid="split-part"
            data-author={p.who}
            className={highlight && p.who.toLowerCase() === highlight.toLowerCase() ? 'ok' : undefined}
          >
            <span className="swatch" style={{ background: COLORS[i % COLORS.length] }} />
            {p.label} <AccountLink address={p.who} />: <Amount value={p.amount} />
          </li>
        ))}
      </ul>
    </div>
  )
}

/** Outputs are the caller's, not the ledger's (it keeps their hash): this browser keeps those it received, by receipt id. */
export const rememberOutput = (receipt: string, text: string) => localStorage.setItem(`sinew.output.${receipt}`, text)
export const recallOutput = (receipt: string): string | undefined => localStorage.getItem(`sinew.output.${receipt}`) ?? undefined

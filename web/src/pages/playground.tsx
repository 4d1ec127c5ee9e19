/**
 * Playground: pick a model, ask it (streamed), and see the answer with its attributed spans
 * highlighted and the receipt below (fee, coverage, split). Calls are paid with an API key of
 * the signed-in account, made in this page.
 */
import { useState, type FormEvent } from 'react'
import { api, streamChat } from '../api.ts'
import { AttributedOutput, ReceiptSummary, rememberOutput, type Receipt } from '../attributed.tsx'
import { ellipsis, formatSin, short } from '../format.ts'
import { grantApiKey, playgroundKey, rememberKey, setPlaygroundKey } from '../keys.ts'
import { Link } from '../router.tsx'
import { ActionButton, ErrorBox, Show, useLoad } from '../ui.tsx'
import { useWallet } from '../wallet.tsx'

/** Characters of a model's name the picker shows; a longer name ends in … and reads whole in the option's title. */
const MODEL_NAME_SHOWN = 28

export default function Playground() {
  const { account } = useWallet()
  const models = useLoad(() => api.get('/v1/registry/models'), [])
  const [model, setModel] = useState('')
  const [prompt, setPrompt] = useState('')
  const [maxTokens, setMaxTokens] = useState(48)
  const [text, setText] = useState('')
  const [receipt, setReceipt] = useState<Receipt>()
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>()
  const [key, setKey] = useState<string | undefined>(() => (account ? playgroundKey(account.address) : undefined))
  const currentKey = account ? (key ?? playgroundKey(account.address)) : undefined

  const ask = async (e: FormEvent) => {
    e.preventDefault()
    if (!currentKey) return
    setBusy(true)
    setError(undefined)
    setText('')
    setReceipt(undefined)
    try {
      const r = await streamChat({ apiKey: currentKey, model: model || models.data?.models.find((m) => m.active)?.name || '', prompt, maxTokens }, setText)
      if (r.receipt) {
        rememberOutput(r.receipt, r.text)
        setReceipt(await api.get('/v1/receipts/{id}', { path: { id: r.receipt } }))
      }
    } catch (err) {
      setError(err)
    } finally {
      setBusy(false)
    }
  }

  return (
    <section>
      <h1>Playground</h1>
      {!account ? (
        <p>
          <Link to="/signin">Sign in</Link> to call a model: each call is paid from your account through an API key you make here.
        </p>
      ) : !currentKey ? (
        <div className="card">
          <p>To call models, make an API key for {account.label}: it is created in this browser and only its hash is signed on the ledger.</p>
          <ActionButton
            run={async () => {
              const k = await grantApiKey(account, { label: 'playground', spendLimit: 0n, expiresAt: 0n })
              rememberKey(account.address, k.keyHash)
              setPlaygroundKey(account.address, k.secret)
              setKey(k.secret)
            }}
          >
            Sign and make a playground key
          </ActionButton>
        </div>
      ) : null}
      <Show loaded={models}>
        {(m) => (
          <form onSubmit={ask} className="card">
            <label htmlFor="model">Model</label>
            <select
              id="model"
              className="picker"
              value={model}
              title={model || m.models.find((x) => x.active)?.name}
              onChange={(e) => setModel(e.target.value)}
            >
              {m.models
                .filter((x) => x.active)
                .map((x) => (
                  <option key={x.name} value={x.name} title={x.name}>
                    {ellipsis(x.name, MODEL_NAME_SHOWN)} ({formatSin(x.pricePerMillion)} per million tokens,{' '}
                    {x.datanets.map((d) => `${short(d.split('@')[0])}@${d.split('@')[1]}`).join(', ') || 'no Datanets'})
                  </option>
                ))}
            </select>
            {m.models.length === 0 ? <p className="muted">No models registered yet: register one under Models &amp; keys.</p> : null}
            <label htmlFor="prompt">Prompt</label>
            <textarea id="prompt" rows={3} style={{ width: '100%' }} value={prompt} onChange={(e) => setPrompt(e.target.value)} required />
            <label htmlFor="max">Max output tokens</label>
            <input id="max" type="number" min={1} max={4096} value={maxTokens} onChange={(e) => setMaxTokens(Number(e.target.value))} />
            <p>
              <button type="submit" disabled={busy || !currentKey || m.models.length === 0} aria-busy={busy}>
                Ask
              </button>
            </p>
          </form>
        )}
      </Show>
      <ErrorBox error={error} />
      {text || busy ? (
        <>
          <h2>Answer</h2>
          {receipt ? (
            <AttributedOutput text={text} receipt={receipt} />
          ) : (
            <div className="output" aria-live="polite">
              {text || '…'}
            </div>
          )}
        </>
      ) : null}
      {receipt ? <ReceiptSummary receipt={receipt} /> : null}
    </section>
  )
}

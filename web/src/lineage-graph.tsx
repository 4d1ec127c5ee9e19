/**
 * A model's lineage drawn as a graph: the model on the left, the Datanet versions it draws on
 * in the middle, their contributions on the right, joined by curves. A small layered layout in
 * SVG (three columns, each parent centred on its children): no graph library is needed for a
 * tree this shape. Every node is a link (keyboard focusable) with its full name in a title.
 */
import type { MouseEvent } from 'react'
import { ellipsis, short } from './format.ts'
import { navigate } from './router.tsx'

export type LineageVersion = {
  key: string
  label: string
  detail: string
  href: string
  contributions: { id: string; title: string; author: string; href: string }[]
  /** Contributions of the version not drawn (the graph draws the first few). */
  more: number
}

const COL = [0, 270, 540]
const NODE_W = 230
const NODE_H = 44
const GAP = 12
const WIDTH = COL[2] + NODE_W
const LABEL = 30

type Box = { x: number; y: number; label: string; detail: string; title: string; href?: string; testId: string; kind: string }

function layout(model: string, versions: LineageVersion[]): { boxes: Box[]; edges: [Box, Box][]; height: number } {
  const boxes: Box[] = []
  const edges: [Box, Box][] = []
  let y = 0
  const middles: Box[] = []
  for (const v of versions) {
    const leaves: Box[] = v.contributions.map((c) => ({
      x: COL[2],
      y: 0,
      label: c.title,
      detail: `by ${short(c.author, 4)}`,
      title: `${c.title}, by ${c.author}`,
      href: c.href,
      testId: 'lineage-contribution',
      kind: 'contribution',
    }))
    if (v.more > 0)
      leaves.push({ x: COL[2], y: 0, label: `… and ${v.more} more`, detail: '', title: `${v.more} more contributions`, testId: 'lineage-more', kind: 'more' })
    const top = y
    for (const leaf of leaves) {
      leaf.y = y
      y += NODE_H + GAP
    }
    // A version with no contribution drawn still takes one row.
    if (leaves.length === 0) y += NODE_H + GAP
    const bottom = y - GAP - NODE_H
    const version: Box = {
      x: COL[1],
      y: (top + bottom) / 2,
      label: v.label,
      detail: v.detail,
      title: `${v.label}: ${v.detail}`,
      href: v.href,
      testId: 'lineage-version',
      kind: 'version',
    }
    boxes.push(version, ...leaves)
    for (const leaf of leaves) edges.push([version, leaf])
    middles.push(version)
    y += GAP
  }
  const height = Math.max(y - 2 * GAP, NODE_H)
  const root: Box = {
    x: COL[0],
    y: middles.length ? (middles[0].y + middles.at(-1)!.y) / 2 : 0,
    label: model,
    detail: `${versions.length} Datanet version${versions.length === 1 ? '' : 's'}`,
    title: model,
    testId: 'lineage-model',
    kind: 'model',
  }
  boxes.unshift(root)
  for (const m of middles) edges.push([root, m])
  return { boxes, edges, height }
}

const follow = (href: string) => (e: MouseEvent) => {
  if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return
  e.preventDefault()
  navigate(href)
}

export function LineageGraph({ model, versions }: { model: string; versions: LineageVersion[] }) {
  const { boxes, edges, height } = layout(model, versions)
  const node = (b: Box) => (
    <g className={`node ${b.kind}`} transform={`translate(${b.x} ${b.y})`}>
      <title>{b.title}</title>
      <rect width={NODE_W} height={NODE_H} rx={6} />
      <text x={10} y={18} className="label">
        {ellipsis(b.label, LABEL)}
      </text>
      <text x={10} y={35} className="detail">
        {ellipsis(b.detail, LABEL + 6)}
      </text>
    </g>
  )
  return (
    <div className="scroll">
      <svg
        className="lineage-graph"
        viewBox={`-2 -2 ${WIDTH + 4} ${height + 4}`}
        width={WIDTH + 4}
        aria-label={`Lineage of ${model}: model, Datanet versions, contributions`}
        data-testid="lineage-graph"
      >
        {edges.map(([from, to]) => {
          const x1 = from.x + NODE_W
          const y1 = from.y + NODE_H / 2
          const x2 = to.x
          const y2 = to.y + NODE_H / 2
          const mid = (x1 + x2) / 2
          return <path key={`${from.testId}${from.y}-${to.y}`} className="edge" d={`M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`} />
        })}
        {boxes.map((b) =>
          b.href ? (
            <a key={`${b.kind}${b.y}`} href={b.href} onClick={follow(b.href)} data-testid={b.testId} aria-label={b.title}>
              {node(b)}
            </a>
          ) : (
            <g key={`${b.kind}${b.y}`} data-testid={b.testId}>
              {node(b)}
            </g>
          ),
        )}
      </svg>
    </div>
  )
}

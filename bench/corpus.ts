/**
 * Assembles a large corpus of real English prose from Debian documentation packages, for the
 * attribution scale benchmark (bench/attribution.bench.ts). Never committed: everything goes
 * under bench/data/ (gitignored).
 *
 *   npx tsx bench/corpus.ts [--tokens 80000000] [--out bench/data/corpus-80m.jsonl] [--cuts 1m,10m]
 *                           [--data bench/data]
 *
 * Steps, each skipped when its output already exists:
 *   1. `apt-get download` the packages below into bench/data/debs/;
 *   2. `dpkg-deb -x` each into bench/data/debs-extract/<package>/;
 *   3. extract text from the selected files of each package (HTML, reStructuredText, Markdown,
 *      POD, roff man pages, Mallard XML, dictd databases; gzip-compressed or not) into
 *      bench/data/text/<package>.jsonl, one document per source file (large files split into
 *      ~100 KB documents), dropping binary, non-UTF-8, non-English and code-like files;
 *   4. order all documents deterministically (by SHA-256 of their id, so that every prefix is a
 *      mix of all packages) and write the prefix that reaches --tokens to --out, plus the
 *      smaller cuts (default 1M and 10M tokens) beside it, e.g. corpus-1m.jsonl.
 * Output lines are `{"id": "<package>/<path>[#part]", "text": "..."}`.
 *
 * Tokens are counted with the engine's `tokenize` (src/attribution/index.ts) when it loads,
 * otherwise with a regex estimate (a word, a number or one punctuation mark per token).
 */
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync, writeSync } from 'node:fs'
import { basename, dirname, join, relative, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { gunzipSync } from 'node:zlib'
import { benchDir } from './lib.ts'

// ---------------------------------------------------------------------------------------------
// Which packages, and which files in each. Paths are relative to the package root.

type Format = 'html' | 'rst' | 'md' | 'text' | 'pod' | 'roff' | 'xml' | 'dict' | 'fortune'

interface Source {
  pkg: string
  /** Files to take (tested on the path relative to the package root, .gz stripped). */
  include: RegExp
  exclude?: RegExp
  /** Forces a format; otherwise it is guessed from the file name. */
  format?: Format
}

export const SOURCES: Source[] = [
  // Linux kernel documentation (reStructuredText sources, gzipped), English only.
  {
    pkg: 'linux-doc-6.1',
    include: /^usr\/share\/doc\/linux-doc-6\.1\/Documentation\/.*\.(rst|txt)$/,
    exclude: /\/(translations|devicetree|sphinx|output)\//,
  },
  // Programming-language manuals and references.
  { pkg: 'python3.11-doc', include: /\/html\/_sources\/.*\.rst\.txt$/, format: 'rst' },
  { pkg: 'perl-doc', include: /\.(pod|pm)$/, format: 'pod' },
  { pkg: 'rust-doc', include: /\/html\/.*\.html$/ },
  { pkg: 'openjdk-17-doc', include: /\/api\/.*\.html$/, exclude: /(-tree|-summary|allclasses|index-files|\/class-use\/|serialized-form)/ },
  { pkg: 'erlang-doc', include: /\.html$/ },
  { pkg: 'ghc-doc', include: /\.html$/, exclude: /\/src\// },
  { pkg: 'nodejs-doc', include: /\.md$/, format: 'md' },
  { pkg: 'r-doc-html', include: /\.html$/ },
  { pkg: 'octave-doc', include: /\.html$/ },
  { pkg: 'python-django-doc', include: /\.html$/, exclude: /\/(genindex|py-modindex|search)\.html$|\/_modules\// },
  { pkg: 'python-pandas-doc', include: /\/_sources\/.*\.txt$/, format: 'rst' },
  { pkg: 'python-scipy-doc', include: /\.html$/, exclude: /\/(genindex|py-modindex|search)\.html$|\/_modules\// },
  { pkg: 'sphinx-doc', include: /\/_sources\/.*\.txt$/, format: 'rst' },
  { pkg: 'qtbase5-doc-html', include: /\.html$/, exclude: /-members\.html$|-obsolete\.html$/ },
  { pkg: 'libboost1.74-doc', include: /\.html?$/ },
  { pkg: 'racket-doc', include: /\.html$/ },
  { pkg: 'python-sklearn-doc', include: /\/_sources\/.*\.txt$/, format: 'rst' },
  { pkg: 'python-statsmodels-doc', include: /\/_sources\/.*\.txt$/, format: 'rst' },
  { pkg: 'python-astropy-doc', include: /\/_sources\/.*\.txt$/, format: 'rst' },
  { pkg: 'python-sympy-doc', include: /\/_sources\/.*\.txt$/, format: 'rst' },
  { pkg: 'python-dask-doc', include: /\/_sources\/.*\.txt$/, format: 'rst' },
  { pkg: 'python-sqlalchemy-doc', include: /\/rst\/.*\.rst$/, format: 'rst' },
  { pkg: 'perl-modules-5.36', include: /\.(pm|pod)$/, format: 'pod' },
  { pkg: 'maxima-doc', include: /\.html$/ },
  { pkg: 'gap-doc', include: /\.html$/ },
  { pkg: 'qtdeclarative5-doc-html', include: /\.html$/, exclude: /-members\.html$|-obsolete\.html$/ },
  // Databases, servers, tools.
  { pkg: 'cmake-doc', include: /\/_sources\/.*\.txt$/, format: 'rst' },
  { pkg: 'exim4-doc-html', include: /\.html$/ },
  { pkg: 'gettext-doc', include: /\.html$/ },
  { pkg: 'gnuplot-doc', include: /\.html$/ },
  { pkg: 'lilypond-doc-html', include: /\.html$/ },
  { pkg: 'kicad-doc-en', include: /\.html$/ },
  { pkg: 'postgresql-doc-15', include: /\.html$/ },
  { pkg: 'apache2-doc', include: /\.html(\.en)?$/, exclude: /\.html\.(?!en)/ },
  { pkg: 'git-doc', include: /\.txt$/, format: 'rst' },
  { pkg: 'vim-runtime', include: /\/vim\/vim\d+\/doc\/.*\.txt$/, format: 'text' },
  { pkg: 'zsh-doc', include: /\.html$/ },
  { pkg: 'bash-doc', include: /\.html$/ },
  {
    pkg: 'emacs-common',
    include:
      /\/etc\/(NEWS(\.\d+)?|PROBLEMS|DEBUG|ETAGS\.README|MH-E-NEWS|ERC-NEWS|TODO|CENSORSHIP|JOKES|DISTRIB|MOTIVATION|THE-GNU-PROJECT|LINUX-GNU|WHY-FREE|copyright-assign\.txt|tutorials\/TUTORIAL)$/,
    format: 'text',
  },
  { pkg: 'gimp-help-en', include: /\/help\/en\/.*\.html$/ },
  { pkg: 'libreoffice-help-en-us', include: /\/en-US\/.*\.html$/ },
  { pkg: 'gnome-user-docs', include: /^usr\/share\/help\/C\/.*\.page$/, format: 'xml' },
  // Debian's own manuals.
  { pkg: 'debian-handbook', include: /\/html\/en-US\/.*\.html$/ },
  { pkg: 'debian-reference-en', include: /\.en\.html$|\/html\/.*\.html$/ },
  { pkg: 'developers-reference', include: /\/_sources\/.*\.txt$/, format: 'rst' },
  { pkg: 'maint-guide', include: /\.en\.html$/ },
  { pkg: 'debian-faq', include: /\/FAQ\/.*\.html$/ },
  { pkg: 'harden-doc', include: /\/html\/en-US\/.*\.html$/ },
  { pkg: 'debian-edu-doc-en', include: /\.html$/ },
  { pkg: 'debian-policy', include: /\.txt$/, format: 'rst' },
  { pkg: 'gnu-standards', include: /\.text$/, format: 'text' },
  // Manual pages (roff).
  { pkg: 'manpages', include: /^usr\/share\/man\/man\d\/[^/]+$/, format: 'roff' },
  { pkg: 'manpages-dev', include: /^usr\/share\/man\/man\d\/[^/]+$/, format: 'roff' },
  { pkg: 'freebsd-manpages', include: /^usr\/share\/man\/man\d\w*\/[^/]+$/, format: 'roff' },
  // Quotations (fortune-mod's English collection).
  { pkg: 'fortunes', include: /^usr\/share\/games\/fortunes\/[a-z-]+$/, format: 'fortune' },
  // Dictionaries: GCIDE (Webster's 1913 + additions), WordNet, FOLDOC, Jargon File, Devil's.
  { pkg: 'dict-gcide', include: /\.dict(\.dz)?$/, format: 'dict' },
  { pkg: 'dict-wn', include: /\.dict(\.dz)?$/, format: 'dict' },
  { pkg: 'dict-foldoc', include: /\.dict(\.dz)?$/, format: 'dict' },
  { pkg: 'dict-jargon', include: /\.dict(\.dz)?$/, format: 'dict' },
  { pkg: 'dict-devil', include: /\.dict(\.dz)?$/, format: 'dict' },
]

// ---------------------------------------------------------------------------------------------
// Text extraction.

const ENTITIES: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: ' ',
  ndash: '–',
  mdash: '—',
  hellip: '…',
  lsquo: '‘',
  rsquo: '’',
  ldquo: '“',
  rdquo: '”',
  laquo: '«',
  raquo: '»',
  copy: '©',
  reg: '®',
  trade: '™',
  times: '×',
  middot: '·',
  bull: '•',
  deg: '°',
  para: '¶',
  sect: '§',
  rarr: '→',
  larr: '←',
  harr: '↔',
  uarr: '↑',
  darr: '↓',
  le: '≤',
  ge: '≥',
  ne: '≠',
  minus: '−',
  shy: '',
  zwj: '',
  zwnj: '',
  thinsp: ' ',
  ensp: ' ',
  emsp: ' ',
  eacute: 'é',
  egrave: 'è',
  aacute: 'á',
  agrave: 'à',
  ouml: 'ö',
  uuml: 'ü',
  auml: 'ä',
  szlig: 'ß',
  ccedil: 'ç',
  ntilde: 'ñ',
  iexcl: '¡',
  iquest: '¿',
  euro: '€',
  pound: '£',
  yen: '¥',
  cent: '¢',
  micro: 'µ',
  plusmn: '±',
  frac12: '½',
}

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|[a-z][a-z0-9]*);/gi, (m, e: string) => {
    if (e[0] === '#') {
      const code = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10)
      return code > 0 && code < 0x110000 && !(code >= 0xd800 && code < 0xe000) ? String.fromCodePoint(code) : ' '
    }
    return ENTITIES[e] ?? ENTITIES[e.toLowerCase()] ?? m
  })
}

/** Collapses runs of blanks inside lines and runs of blank lines. */
function tidy(s: string): string {
  return s
    .replace(/\r\n?/g, '\n')
    .replace(/[\t\f\v\u00a0 ]+/g, ' ')
    .replace(/ ?\n ?/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim()
}

const BLOCK_TAGS =
  /<\/?(p|div|br|li|ul|ol|dl|dd|dt|h[1-6]|tr|table|blockquote|section|article|aside|hr|td|th|caption|figure|figcaption|summary|details)\b[^>]*>/gi

export function htmlToText(html: string): string {
  let s = html
  // Main content where the page marks it; else the body.
  const main = s.search(/<main\b|role=["']main["']/i)
  if (main >= 0) {
    const open = s.lastIndexOf('<', main)
    s = s.slice(open >= 0 ? open : main)
    const end = s.search(/<\/main>|class=["'](sphinxsidebar|footer|related)\b|<footer\b/i)
    if (end > 0) s = s.slice(0, end)
  } else {
    const body = s.search(/<body\b/i)
    if (body >= 0) s = s.slice(body)
  }
  s = s
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<(script|style|head|nav|header|footer|noscript|svg|math|pre|button|select|form)\b[\s\S]*?<\/\1\s*>/gi, '\n')
    .replace(
      /<div\b[^>]*class=["'][^"']*\b(sphinxsidebar|related|navigation|navheader|navfooter|toc|breadcrumb|sidebar|footer|header|example|highlight|programlisting|screen)\b[^>]*>/gi,
      '\n',
    )
    .replace(BLOCK_TAGS, '\n')
    .replace(/<[^>]*>/g, '')
  return tidy(decodeEntities(s))
}

export function rstToText(src: string): string {
  const out: string[] = []
  for (const line of src.replace(/\r\n?/g, '\n').split('\n')) {
    const t = line.trim()
    if (/^([=\-~^"'`#*+_:.])\1{2,}$/.test(t)) continue // section underlines / transitions
    if (/^\.\.\s/.test(t)) {
      // Directive, comment or target: keep a title argument, drop the rest.
      const m = /^\.\.\s+(?:[\w-]+::\s*)(.+)$/.exec(t)
      if (
        m &&
        /^(note|warning|seealso|versionadded|versionchanged|deprecated|admonition|tip|important|caution|attention|hint|topic|sidebar|rubric)\b/.test(t.slice(3))
      )
        out.push(m[1])
      continue
    }
    if (/^:[\w -]+:/.test(t) && t.length < 80 && !/\s{2}/.test(t)) {
      // Field list entry: keep its body.
      out.push(t.replace(/^:[\w -]+:\s*/, ''))
      continue
    }
    out.push(line)
  }
  return tidy(
    out
      .join('\n')
      .replace(/:[\w.:+-]+:`([^`<]*?)\s*(?:<[^`>]*>)?`/g, '$1') // :role:`text <target>`
      .replace(/`([^`<]+?)\s*<[^`>]+>`_{1,2}/g, '$1') // `text <url>`_
      .replace(/``([^`]+)``/g, '$1')
      .replace(/`([^`]+)`_{0,2}/g, '$1')
      .replace(/\*\*([^*\n]+)\*\*/g, '$1')
      .replace(/(^|[\s(])\*([^*\s][^*\n]*)\*/g, '$1$2')
      .replace(/\|([\w -]+)\|_?/g, '$1')
      .replace(/\[#?\w*\]_/g, ''),
  )
}

export function mdToText(src: string): string {
  return tidy(
    src
      .replace(/\r\n?/g, '\n')
      .replace(/^```[\s\S]*?^```\s*$/gm, '') // fenced code
      .replace(/<!--[\s\S]*?-->/g, '')
      .replace(/<[^>\n]+>/g, '')
      .replace(/^#{1,6}\s+/gm, '')
      .replace(/!\[([^\]]*)\]\([^)]*\)/g, '$1')
      .replace(/\[([^\]]+)\]\[[^\]]*\]/g, '$1')
      .replace(/\[([^\]]+)\]\([^)]*\)/g, '$1')
      .replace(/^\[[^\]]+\]:\s+\S+.*$/gm, '')
      .replace(/`([^`\n]+)`/g, '$1')
      .replace(/(\*\*|__)([^*_\n]+)\1/g, '$2')
      .replace(/(^|\W)[*_]([^*_\n]+)[*_](?=\W|$)/g, '$1$2')
      .replace(/^\s*[-*+]\s+/gm, '')
      .replace(/^\s*>\s?/gm, ''),
  )
}

export function podToText(src: string): string {
  const out: string[] = []
  let inPod = !/^=\w/m.test(src) || /^=\w/.test(src)
  let skip = false
  for (const line of src.replace(/\r\n?/g, '\n').split('\n')) {
    const cmd = /^=(\w+)\s*(.*)$/.exec(line)
    if (cmd) {
      const [, name, arg] = cmd
      inPod = name !== 'cut'
      if (name === 'begin') skip = true
      else if (name === 'end') skip = false
      else if (/^(head\d|item)$/.test(name) && arg && arg !== '*' && !/^\d+\.?$/.test(arg)) out.push('', arg, '')
      continue
    }
    if (inPod && !skip) out.push(line)
  }
  let s = out.join('\n')
  // Formatting codes, innermost first, a few passes for nesting: X<...>, X<< ... >>.
  for (let i = 0; i < 3; i++) {
    s = s
      .replace(/[BICFSZXE]<<+\s(.*?)\s>>+/g, '$1')
      .replace(/L<([^<>|]*)\|[^<>]*>/g, '$1')
      .replace(/L<"?([^<>]*?)"?>/g, '$1')
      .replace(/E<(\w+)>/g, (_m, e: string) => ({ lt: '<', gt: '>', verbar: '|', sol: '/' })[e] ?? '')
      .replace(/[XZ]<[^<>]*>/g, '')
      .replace(/[BICFS]<([^<>]*)>/g, '$1')
  }
  return tidy(s)
}

const ROFF_ESCAPES: Record<string, string> = {
  em: '—',
  en: '–',
  aq: "'",
  dq: '"',
  lq: '“',
  rq: '”',
  oq: '‘',
  cq: '’',
  bu: '•',
  co: '©',
  rg: '®',
  tm: '™',
  hy: '-',
  mi: '-',
  pl: '+',
  mu: '×',
  di: '÷',
  '<=': '≤',
  '>=': '≥',
  '->': '→',
  '<-': '←',
  ga: '`',
  ha: '^',
  ti: '~',
  rs: '\\',
  ba: '|',
  dg: '†',
  de: '°',
  sq: '□',
  ua: '↑',
  da: '↓',
}

export function roffToText(src: string): string {
  const out: string[] = []
  let fill = true
  for (const raw of src.replace(/\r\n?/g, '\n').split('\n')) {
    let line = raw
    if (/^[.']\s*\\"/.test(line) || /^\\"/.test(line)) continue // comment
    const req = /^[.']\s*([A-Za-z][A-Za-z0-9]*)\s*(.*)$/.exec(line)
    if (req) {
      const [, name, arg] = req
      if (name === 'nf' || name === 'EX') fill = false
      if (name === 'fi' || name === 'EE') fill = true
      if (/^(SH|SS|B|I|BR|RB|IR|RI|BI|IB|SM|SB|TP|IP|HP|UR|MT|Nm|Nd|Sh|Ss|It|Dt)$/.test(name) && arg) {
        const words = [...arg.matchAll(/"((?:[^"]|"")*)"|(\S+)/g)].map((m) => (m[1] ?? m[2]).replace(/""/g, '"'))
        line = /^(BR|RB|IR|RI|BI|IB)$/.test(name) ? words.join('') : words.join(' ')
        if (name === 'IP' || name === 'TP') line = words[0] ?? ''
        if (name === 'SH' || name === 'SS' || name === 'Sh' || name === 'Ss') out.push('')
      } else if (/^[A-Z][a-z]$/.test(name) && arg && !/^(Dd|Os|Bl|El|Bd|Ed|Bf|Ef|Bk|Ek|Rs|Re|In|Fd|Ft)$/.test(name)) {
        // mdoc(7): keep the words, drop the macro names called inside the line.
        line = arg.replace(/(^|\s)(?:[A-Z][a-z]{1,2}|Ns)(?=\s|$)/g, '$1').replace(/"/g, '')
        if (name === 'Fl') line = '-' + line.trim()
      } else {
        if (/^(PP|LP|P|sp|br|Pp)$/.test(name)) out.push('')
        continue
      }
    }
    if (!fill && /^\s*$/.test(line)) continue
    out.push(line)
  }
  const s = out
    .join('\n')
    .replace(/\\f(\[[^\]]*\]|\([A-Za-z]{2}|[A-Za-z0-9])/g, '')
    .replace(/\\\*?\(([^\s]{2})/g, (_m, n: string) => ROFF_ESCAPES[n] ?? '')
    .replace(/\\\*?\[([^\]]+)\]/g, (_m, n: string) => ROFF_ESCAPES[n] ?? '')
    .replace(/\\s[+-]?\d/g, '')
    .replace(/\\[-]/g, '-')
    .replace(/\\e/g, '\\')
    .replace(/\\[&|^:%c]/g, '')
    .replace(/\\[ ~0]/g, ' ')
    .replace(/\\(.)/g, '$1')
  return tidy(s)
}

export function xmlToText(src: string): string {
  return tidy(
    decodeEntities(
      src
        .replace(/<!--[\s\S]*?-->/g, ' ')
        .replace(/<(info|code|screen|media|links|include)\b[\s\S]*?<\/\1\s*>/g, ' ')
        .replace(/<\/?(p|title|item|section|list|terms|tree|table|tr|td|note|desc|page)\b[^>]*>/g, '\n')
        .replace(/<[^>]*>/g, ''),
    ),
  )
}

function toText(format: Format, src: string): string {
  switch (format) {
    case 'html':
      return htmlToText(src)
    case 'rst':
      return rstToText(src)
    case 'md':
      return mdToText(src)
    case 'pod':
      return podToText(src)
    case 'roff':
      return roffToText(src)
    case 'xml':
      return xmlToText(src)
    case 'dict':
      return tidy(src.replace(/^00-?database-.*$/gm, ''))
    case 'text':
      return tidy(src)
    case 'fortune':
      return tidy(src.replace(/^%\s*$/gm, ''))
  }
}

function guessFormat(path: string): Format | undefined {
  if (/\.(html?|xhtml)(\.en)?$/i.test(path)) return 'html'
  if (/\.rst(\.txt)?$/i.test(path)) return 'rst'
  if (/\.md$/i.test(path)) return 'md'
  if (/\.(pod|pm)$/i.test(path)) return 'pod'
  if (/\.(page|xml)$/i.test(path)) return 'xml'
  if (/\.txt$/i.test(path)) return 'rst'
  return undefined
}

const STOPWORDS = new Set(
  'the of and to a in is that for it as with be on by this are or not an which from at can if you your we when will there their has have but all one its was these may other into more any must should would also than then only such each used use so no been how what they some'.split(
    ' ',
  ),
)

/** Heuristics for "English prose": mostly letters, mostly ASCII letters, plenty of stopwords. */
export function looksLikeEnglish(text: string): boolean {
  if (text.length < 200) return false
  const letters = text.match(/\p{L}/gu)?.length ?? 0
  if (letters / text.length < 0.55) return false
  const ascii = text.match(/[A-Za-z]/g)?.length ?? 0
  if (ascii / letters < 0.95) return false
  const words = text.toLowerCase().match(/[a-z]+/g) ?? []
  let stop = 0
  for (const w of words) if (STOPWORDS.has(w)) stop++
  return words.length > 0 && stop / words.length >= 0.12
}

const DOC_BYTES = 100_000

/** Splits text into ~100 KB pieces at paragraph (or line) boundaries. */
export function splitText(text: string, max = DOC_BYTES): string[] {
  if (text.length <= max) return [text]
  const parts: string[] = []
  let start = 0
  while (text.length - start > max) {
    let cut = text.lastIndexOf('\n\n', start + max)
    if (cut <= start + max / 2) cut = text.lastIndexOf('\n', start + max)
    if (cut <= start + max / 2) cut = text.lastIndexOf(' ', start + max)
    if (cut <= start) cut = start + max
    parts.push(text.slice(start, cut).trim())
    start = cut
  }
  parts.push(text.slice(start).trim())
  return parts.filter((p) => p.length > 0)
}

// ---------------------------------------------------------------------------------------------
// Token counting.

type Tokenize = (text: string) => ArrayLike<unknown>
const WORD_RE = /[\p{L}\p{M}\p{N}]+|[^\s\p{L}\p{M}\p{N}]/gu

export function estimateTokens(text: string): number {
  let n = 0
  WORD_RE.lastIndex = 0
  while (WORD_RE.exec(text)) n++
  return n
}

export async function loadTokenizer(): Promise<{ name: string; count: (text: string) => number }> {
  const file = resolve(benchDir, '../src/attribution/index.ts')
  if (existsSync(file)) {
    try {
      const mod = (await import(pathToFileURL(file).href)) as {
        tokenize?: Tokenize
        scanTokens?: (text: string, emit: (s: number, e: number, plain: boolean) => void) => void
        TOKENIZER_VERSION?: string
      }
      if (typeof mod.tokenize === 'function') {
        const tokenize = mod.tokenize
        const name = `engine${mod.TOKENIZER_VERSION ? ' ' + mod.TOKENIZER_VERSION : ''}`
        const scan = mod.scanTokens
        if (typeof scan === 'function') {
          // Same tokens as tokenize(), without building the token strings: only counting here.
          let n = 0
          const inc = (): void => {
            n++
          }
          const count = (t: string): number => {
            n = 0
            scan(t, inc)
            return n
          }
          if (count('A test, of the tokenizer.') !== tokenize('A test, of the tokenizer.').length) throw new Error('scanTokens and tokenize disagree')
          return { name, count }
        }
        return { name, count: (t) => tokenize(t).length }
      }
    } catch (err) {
      console.warn(`[corpus] engine tokenizer unavailable (${(err as Error).message.split('\n')[0]}); using the regex estimate`)
    }
  }
  return { name: 'regex-estimate', count: estimateTokens }
}

// ---------------------------------------------------------------------------------------------
// Pipeline.

let dataDir = join(benchDir, 'data')
let debsDir = join(dataDir, 'debs')
let extractDir = join(dataDir, 'debs-extract')
let textDir = join(dataDir, 'text')
/** Bump when extraction changes, so that bench/data/text is rebuilt. */
const EXTRACT_VERSION = 3

function walk(dir: string, root: string, out: string[]): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) walk(p, root, out)
    else if (e.isFile()) out.push(relative(root, p))
  }
  return out
}

function debFor(pkg: string): string | undefined {
  return readdirSync(debsDir).find((f) => f.startsWith(pkg + '_') && f.endsWith('.deb'))
}

function download(pkgs: string[]): void {
  mkdirSync(debsDir, { recursive: true })
  const missing = pkgs.filter((p) => !debFor(p))
  if (missing.length === 0) {
    console.log(`[corpus] 1/4 download: all ${pkgs.length} packages already in ${relative(process.cwd(), debsDir)}`)
    return
  }
  console.log(`[corpus] 1/4 download: apt-get download ${missing.length} package(s): ${missing.join(' ')}`)
  try {
    execFileSync('apt-get', ['download', ...missing], { cwd: debsDir, stdio: ['ignore', 'inherit', 'pipe'] })
  } catch {
    console.log('[corpus] apt-get download failed; running apt-get update and retrying')
    execFileSync('apt-get', ['update'], { stdio: 'inherit' })
    execFileSync('apt-get', ['download', ...missing], { cwd: debsDir, stdio: 'inherit' })
  }
}

function extract(pkgs: string[]): void {
  let done = 0
  for (const pkg of pkgs) {
    const dest = join(extractDir, pkg)
    const marker = join(extractDir, `${pkg}.extracted`)
    if (existsSync(marker)) continue
    const deb = debFor(pkg)
    if (!deb) throw new Error(`no .deb for ${pkg} in ${debsDir}`)
    process.stdout.write(`[corpus] 2/4 dpkg-deb -x ${deb}\n`)
    mkdirSync(dest, { recursive: true })
    execFileSync('dpkg-deb', ['-x', join(debsDir, deb), dest], { stdio: 'inherit' })
    writeFileSync(marker, deb + '\n')
    done++
  }
  console.log(`[corpus] 2/4 extract: ${done} unpacked, ${pkgs.length - done} already unpacked in ${relative(process.cwd(), extractDir)}`)
}

interface PkgStats {
  pkg: string
  files: number
  kept: number
  documents: number
  bytes: number
  tokens: number
  tokenizer: string
}

function readSource(file: string): Buffer | undefined {
  let buf = readFileSync(file)
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      buf = gunzipSync(buf)
    } catch {
      return undefined
    }
  }
  if (buf.includes(0)) return undefined // binary
  return buf
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

function textOf(src: Source): string {
  return join(textDir, `${src.pkg}.v${EXTRACT_VERSION}.jsonl`)
}

function extractText(src: Source, tok: { name: string; count: (t: string) => number }): PkgStats {
  const count = tok.count
  const out = textOf(src)
  const statsFile = out + '.stats.json'
  if (existsSync(out) && existsSync(statsFile)) {
    const cached = JSON.parse(readFileSync(statsFile, 'utf8')) as PkgStats
    if (cached.tokenizer === tok.name) return cached
    // Counted with another tokenizer: recount without extracting again.
    cached.tokens = 0
    for (const line of readFileSync(out, 'utf8').split('\n')) if (line) cached.tokens += count((JSON.parse(line) as { text: string }).text)
    cached.tokenizer = tok.name
    writeFileSync(statsFile, JSON.stringify(cached) + '\n')
    console.log(`[corpus] 3/4 text: ${src.pkg} recounted with ${tok.name}: ${(cached.tokens / 1e6).toFixed(2)} M tokens`)
    return cached
  }
  const root = join(extractDir, src.pkg)
  const files = walk(root, root, []).sort()
  const stats: PkgStats = { pkg: src.pkg, files: 0, kept: 0, documents: 0, bytes: 0, tokens: 0, tokenizer: tok.name }
  mkdirSync(textDir, { recursive: true })
  const tmp = out + '.tmp'
  const fd = openSync(tmp, 'w')
  const t0 = Date.now()
  for (const rel of files) {
    const path = rel.replace(/\.(gz|dz)$/, '')
    if (!src.include.test(path) || src.exclude?.test(path)) continue
    const format = src.format ?? guessFormat(path)
    if (!format) continue
    stats.files++
    const buf = readSource(join(root, rel))
    if (!buf) continue
    let raw: string
    try {
      raw = utf8.decode(buf)
    } catch {
      if (format === 'dict' || format === 'roff') raw = buf.toString('latin1')
      else continue // not UTF-8
    }
    const text = toText(format, raw)
    const parts = splitText(text)
    let keptAny = false
    parts.forEach((part, i) => {
      if (!looksLikeEnglish(part)) return
      const id = `${src.pkg}/${path}${parts.length > 1 ? `#${i + 1}` : ''}`
      writeSync(fd, JSON.stringify({ id, text: part }) + '\n')
      stats.documents++
      stats.bytes += Buffer.byteLength(part)
      stats.tokens += count(part)
      keptAny = true
    })
    if (keptAny) stats.kept++
  }
  closeSync(fd)
  renameSync(tmp, out)
  writeFileSync(statsFile, JSON.stringify(stats) + '\n')
  console.log(
    `[corpus] 3/4 text: ${src.pkg.padEnd(24)} ${String(stats.kept).padStart(6)}/${String(stats.files).padEnd(6)} files → ${String(stats.documents).padStart(6)} docs, ${(stats.bytes / 1e6).toFixed(1).padStart(6)} MB, ${(stats.tokens / 1e6).toFixed(2).padStart(6)} M tokens (${((Date.now() - t0) / 1000).toFixed(1)} s)`,
  )
  return stats
}

function parseCount(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)$/i.exec(s.trim())
  if (!m) throw new Error(`bad token count: ${s}`)
  const mult = { '': 1, k: 1e3, m: 1e6, g: 1e9 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g']
  return Math.round(Number(m[1]) * mult)
}

function label(n: number): string {
  return n % 1e6 === 0 ? `${n / 1e6}m` : n % 1e3 === 0 ? `${n / 1e3}k` : String(n)
}

interface Manifest {
  version: number
  tokenizer: string
  packages: string[]
  files: Record<string, { target: number; documents: number; tokens: number; bytes: number }>
}

async function main(): Promise<void> {
  const args = process.argv.slice(2)
  const opt = (name: string): string | undefined => {
    const i = args.indexOf(name)
    return i >= 0 ? args[i + 1] : undefined
  }
  if (opt('--data')) {
    dataDir = resolve(opt('--data')!)
    debsDir = join(dataDir, 'debs')
    extractDir = join(dataDir, 'debs-extract')
    textDir = join(dataDir, 'text')
  }
  const target = parseCount(opt('--tokens') ?? '80000000')
  const out = resolve(opt('--out') ?? join(dataDir, `corpus-${label(target)}.jsonl`))
  const cuts = (opt('--cuts') ?? '1m,10m')
    .split(',')
    .filter(Boolean)
    .map(parseCount)
    .filter((c) => c < target)
  const t0 = Date.now()

  const pkgs = SOURCES.map((s) => s.pkg)
  download(pkgs)
  extract(pkgs)

  const tok = await loadTokenizer()
  console.log(`[corpus] 3/4 text extraction (${SOURCES.length} packages; tokens counted with ${tok.name})`)
  const manifestFile = join(dataDir, 'corpus-manifest.json')
  const prev: Manifest | undefined = existsSync(manifestFile) ? JSON.parse(readFileSync(manifestFile, 'utf8')) : undefined
  const stats = SOURCES.map((s) => extractText(s, tok))
  const total = stats.reduce((a, s) => ({ docs: a.docs + s.documents, bytes: a.bytes + s.bytes, tokens: a.tokens + s.tokens }), {
    docs: 0,
    bytes: 0,
    tokens: 0,
  })
  console.log(`[corpus] 3/4 text: ${total.docs} documents, ${(total.bytes / 1e6).toFixed(1)} MB, ${(total.tokens / 1e6).toFixed(2)} M tokens available`)

  const outputs = [...cuts.map((c) => ({ target: c, file: join(dirname(out), `corpus-${label(c)}.jsonl`) })), { target, file: out }]
  const upToDate =
    prev &&
    prev.version === EXTRACT_VERSION &&
    prev.tokenizer === tok.name &&
    prev.packages.join() === pkgs.join() &&
    outputs.every((o) => existsSync(o.file) && prev.files[basename(o.file)]?.target === o.target)
  if (upToDate) {
    for (const o of outputs) {
      const f = prev.files[basename(o.file)]
      console.log(
        `[corpus] 4/4 ${relative(process.cwd(), o.file)} up to date: ${f.documents} docs, ${(f.bytes / 1e6).toFixed(1)} MB, ${(f.tokens / 1e6).toFixed(2)} M tokens`,
      )
    }
    console.log(`[corpus] nothing to do (${((Date.now() - t0) / 1000).toFixed(1)} s)`)
    return
  }
  if (total.tokens < target) console.warn(`[corpus] WARNING: only ${total.tokens} tokens available, fewer than the ${target} asked for`)

  // Load all documents with their token counts and order them by SHA-256 of the id.
  console.log('[corpus] 4/4 ordering documents (SHA-256 of id) and writing cuts')
  const docs: { key: string; line: string; tokens: number; bytes: number }[] = []
  for (const s of SOURCES) {
    for (const line of readFileSync(textOf(s), 'utf8').split('\n')) {
      if (!line) continue
      const d = JSON.parse(line) as { id: string; text: string }
      docs.push({ key: createHash('sha256').update(d.id).digest('hex'), line, tokens: 0, bytes: Buffer.byteLength(d.text) })
    }
  }
  docs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  const manifest: Manifest = { version: EXTRACT_VERSION, tokenizer: tok.name, packages: pkgs, files: {} }
  const maxTarget = Math.max(...outputs.map((o) => o.target))
  const writers = outputs.map((o) => ({ ...o, fd: openSync(o.file + '.tmp', 'w'), documents: 0, tokens: 0, bytes: 0, open: true }))
  let cum = 0
  let lastPrint = 0
  for (const d of docs) {
    if (cum >= maxTarget) break
    const text = (JSON.parse(d.line) as { text: string }).text
    d.tokens = tok.count(text)
    for (const w of writers) {
      if (!w.open) continue
      writeSync(w.fd, d.line + '\n')
      w.documents++
      w.tokens += d.tokens
      w.bytes += d.bytes
      if (w.tokens >= w.target) w.open = false
    }
    cum += d.tokens
    if (cum - lastPrint >= (process.stdout.isTTY ? 5e6 : 20e6)) {
      lastPrint = cum
      const msg = `[corpus] 4/4 written ${(cum / 1e6).toFixed(0)} / ${(maxTarget / 1e6).toFixed(0)} M tokens`
      process.stdout.write(process.stdout.isTTY ? `\r${msg}` : `${msg}\n`)
    }
  }
  if (process.stdout.isTTY) process.stdout.write('\n')
  for (const w of writers) {
    closeSync(w.fd)
    renameSync(w.file + '.tmp', w.file)
    manifest.files[basename(w.file)] = { target: w.target, documents: w.documents, tokens: w.tokens, bytes: w.bytes }
    console.log(
      `[corpus] wrote ${relative(process.cwd(), w.file)}: ${w.documents} docs, ${(statSync(w.file).size / 1e6).toFixed(1)} MB on disk, ${(w.bytes / 1e6).toFixed(1)} MB text, ${(w.tokens / 1e6).toFixed(2)} M tokens`,
    )
  }
  writeFileSync(manifestFile, JSON.stringify(manifest, null, 2) + '\n')
  console.log(`[corpus] done in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(benchDir, 'corpus.ts')) {
  main().catch((err) => {
    console.error(err)
    process.exit(1)
  })
}

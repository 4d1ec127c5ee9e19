/** A small history-API router: the app's paths are real URLs (the node answers them with the app). */
import { useEffect, useState, type AnchorHTMLAttributes, type MouseEvent } from 'react'

const listeners = new Set<() => void>()

export function navigate(to: string): void {
  history.pushState(null, '', to)
  for (const l of listeners) l()
  window.scrollTo(0, 0)
}

export function usePath(): string {
  const [path, setPath] = useState(location.pathname)
  useEffect(() => {
    const update = () => setPath(location.pathname)
    listeners.add(update)
    window.addEventListener('popstate', update)
    return () => {
      listeners.delete(update)
      window.removeEventListener('popstate', update)
    }
  }, [])
  return path
}

/** `pattern` like /datanets/:id against `path`: the named parts, or undefined. */
export function match(pattern: string, path: string): Record<string, string> | undefined {
  if (path === '/' || pattern === '/') return path === pattern ? {} : undefined
  const p = pattern.split('/')
  const s = path.replace(/\/$/, '').split('/')
  if (p.length !== s.length) return undefined
  const params: Record<string, string> = {}
  for (let i = 0; i < p.length; i++) {
    if (p[i].startsWith(':')) params[p[i].slice(1)] = decodeURIComponent(s[i] ?? '')
    else if (p[i] !== s[i]) return undefined
  }
  return params
}

/**
 * An in-app link: a plain click navigates without reloading the page. A caller's own
 * `onClick` runs first (it may prevent the navigation); it no longer replaces this one, which
 * had made the header's links (they close the mobile menu on click) reload the whole app.
 */
export function Link({ to, onClick: callerOnClick, ...rest }: { to: string } & AnchorHTMLAttributes<HTMLAnchorElement>) {
  const onClick = (e: MouseEvent<HTMLAnchorElement>) => {
    callerOnClick?.(e)
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return
    e.preventDefault()
    navigate(to)
  }
  return <a href={to} onClick={onClick} {...rest} />
}

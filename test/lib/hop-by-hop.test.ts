/** Hop-by-hop headers: what a proxy never forwards, in either direction. */
import { connectionTokens, endToEnd, endToEndRaw, isHopByHop } from '../../lib/hop-by-hop'

describe('hop-by-hop headers', () => {
  it('reads the names a Connection header lists, over several field lines, lower-cased', () => {
    expect([...connectionTokens(['keep-alive, X-Secret', ' Upgrade ,,'])]).toEqual(['keep-alive', 'x-secret', 'upgrade'])
    expect(connectionTokens(undefined).size).toBe(0)
  })

  it.each(['connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'proxy-authorization', 'proxy-connection', ':path'])(
    'always drops %s',
    (name) => expect(isHopByHop(name, new Set())).toBe(true),
  )

  it('keeps end-to-end headers, in order and with repeats, and drops the ones Connection names', () => {
    const raw = ['Host', 'a', 'Connection', 'close, X-Hop', 'X-Hop', '1', 'Set-Cookie', 'a=1', 'Accept', '*/*', 'Set-Cookie', 'b=2', 'Proxy-Authorization', 'x']
    expect(endToEndRaw(raw, new Set(['host']))).toEqual(['Set-Cookie', 'a=1', 'Accept', '*/*', 'Set-Cookie', 'b=2'])
  })

  it('filters a headers object the same way', () => {
    const headers = { connection: 'x-a', 'x-a': '1', 'x-b': ['1', '2'], 'keep-alive': 'timeout=5', 'content-length': '3', trailer: 'x-c' }
    expect(endToEnd(headers)).toEqual([
      ['x-b', ['1', '2']],
      ['content-length', '3'],
    ])
  })
})

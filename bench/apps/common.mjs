// Pieces every app shares.

/** Pause long enough that `bytes` bytes take `bytesPerSecond` to consume. */
export function pace(bytes, bytesPerSecond) {
  return new Promise((resolve) => setTimeout(resolve, (bytes / bytesPerSecond) * 1000))
}

export const LARGE_LIMIT = '2gb'

/** The ≈1 KB JSON document of the small-body scenario, as sent on the wire. */
export const SMALL_JSON = JSON.stringify({
  id: 'c0ffee-0001',
  user: { name: 'Ada Lovelace', email: 'ada@example.com', roles: ['admin', 'editor'], active: true },
  items: Array.from({ length: 8 }, (_, i) => ({ sku: `SKU-${1000 + i}`, qty: i + 1, price: 9.99 + i, tags: ['a', 'b'] })),
  note: 'x'.repeat(371),
  createdAt: '2025-01-01T00:00:00.000Z',
})

/** The parsed document: what a handler without a body parser answers with, so every app stringifies the same. */
export const SMALL_OBJECT = JSON.parse(SMALL_JSON)

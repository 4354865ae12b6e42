// Small numeric helpers and Markdown formatting.

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

export const MiB = 1024 * 1024
export const GiB = 1024 * MiB

export function mib(bytes) {
  return `${(bytes / MiB).toFixed(1)} MiB`
}

export function sizeLabel(bytes) {
  return bytes >= GiB ? `${bytes / GiB} GiB` : `${bytes / MiB} MiB`
}

export function ratio(value) {
  return `${value.toFixed(2)}×`
}

export function verdict(ok) {
  return ok ? 'holds' : '**fails**'
}

/** A Markdown table from a header row and data rows. */
export function table(header, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n')
}

/** Run `fn(config, round)` for every config, `rounds` times, interleaved so drift hits all alike. */
export async function interleave(configs, rounds, fn) {
  const results = new Map(configs.map((config) => [config, []]))
  for (let round = 0; round < rounds; round++) {
    for (const config of configs) results.get(config).push(await fn(config, round))
  }
  return results
}

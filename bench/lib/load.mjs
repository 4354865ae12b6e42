// Request-rate measurement with autocannon, run in the parent process while
// the server has its own process (one core each on a two-core machine).
import autocannon from 'autocannon'

/**
 * Load `server` for `seconds` and return requests per second and the server
 * process's CPU time per request (µs), which noise from neighbours distorts
 * less than the rate.
 * `requests` is autocannon's list of request templates; with `setupRequest`
 * each request can get its own path. Any non-2xx answer or socket error fails
 * the measurement: a fast error page is not a fast server.
 */
export async function requestRate({ server, seconds, connections = 50, requests }) {
  const before = await server.cpu()
  const result = await autocannon({
    url: `http://127.0.0.1:${server.port}`,
    connections,
    pipelining: 1,
    duration: seconds,
    requests,
  })
  if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0) {
    throw new Error(
      `${server.name}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts in ${result.requests.total} requests`,
    )
  }
  const after = await server.cpu()
  const cpu = after.user + after.system - before.user - before.system
  return { rate: result.requests.total / result.duration, cpuPerRequest: cpu / result.requests.total }
}

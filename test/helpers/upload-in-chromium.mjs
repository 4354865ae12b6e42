// Drive the Express demo's upload page in headless Chromium (puppeteer-core is
// ESM-only, so test/examples.test.ts runs this as a child process):
//   node upload-in-chromium.mjs <chromium> <page url> <file> <fresh profile dir>
// Prints what the page shows once the upload is done, as JSON.
/* global document, window, MutationObserver */
import puppeteer from 'puppeteer-core'

const [executablePath, url, file, profile] = process.argv.slice(2)
const browser = await puppeteer.launch({
  executablePath,
  headless: true,
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    `--user-data-dir=${profile}`,
  ],
})
try {
  const page = await browser.newPage()
  const progress = []
  await page.exposeFunction('reportProgress', (value) => progress.push(value))
  await page.goto(url)
  await page.evaluate(() => {
    const bar = document.getElementById('progress')
    new MutationObserver(() => window.reportProgress(Number(bar.value))).observe(bar, { attributes: true })
  })
  const input = await page.$('#file')
  await input.uploadFile(file)
  await page.waitForFunction(() => /digests (match|differ)|failed/.test(document.getElementById('status').textContent), { timeout: 30_000 })
  const shown = await page.evaluate(() => ({
    status: document.getElementById('status').textContent,
    server: document.getElementById('server').textContent,
    browser: document.getElementById('browser').textContent,
    progress: document.getElementById('progress').value,
  }))
  process.stdout.write(JSON.stringify({ ...shown, progressUpdates: progress }) + '\n')
} finally {
  await browser.close()
}

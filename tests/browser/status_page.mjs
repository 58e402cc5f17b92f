// Drives headless Chromium against the status page of a running rs_ingester (started by
// tests/e2e/status_page): the page asks for the token, then shows what GET /control/status
// says; force load of a waiting table takes effect; a destructive action asks first and does
// nothing when declined; markup in the data stays text; no CSP violation or script error; an
// unreachable API shows a banner. Saves a desktop and a phone screenshot. Exits 0 when all
// held, 1 naming the first check that failed.
//
//   node status_page.mjs --url http://127.0.0.1:PORT/ --token T --chromium /usr/bin/chromium
//        --force TABLE --screenshot out.png --phone-screenshot phone.png
import puppeteer from 'puppeteer-core';

const options = {};
for (let index = 2; index < process.argv.length; index += 2) {
  options[process.argv[index].replace(/^--/, '')] = process.argv[index + 1];
}
for (const name of ['url', 'token', 'chromium', 'force', 'screenshot', 'phone-screenshot']) {
  if (!options[name]) {
    console.error(`missing --${name}`);
    process.exit(2);
  }
}

const started = Date.now();
const log = (message) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${message}`);
class CheckFailed extends Error {}
function check(condition, message) {
  if (!condition) throw new CheckFailed(message);
}

async function apiStatus() {
  const response = await fetch(new URL('/control/status', options.url), {
    headers: { Authorization: `Bearer ${options.token}` },
  });
  check(response.status === 200, `GET /control/status answered ${response.status}`);
  return response.json();
}

const number = (value) => Number(value || 0).toLocaleString('en-US');

// What a table's card shows: data-field → [data-value, text].
async function card(page, table) {
  return page.$eval(`article[data-table="${table}"]`, (article) => {
    const fields = {};
    for (const node of article.querySelectorAll('[data-field]')) {
      fields[node.getAttribute('data-field')] = [node.getAttribute('data-value'), node.textContent];
    }
    return fields;
  });
}

const browser = await puppeteer.launch({
  executablePath: options.chromium,
  headless: true,
  // Over a pipe, Chromium ends with this script even if the test kills it.
  pipe: true,
  // Root in CI: Chromium's sandbox needs user namespaces it may not get there.
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
         '--disable-extensions', '--lang=en-US'],
});
let failed = false;
const problems = [];
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  page.on('pageerror', (error) => problems.push(`script error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && !/Failed to load resource/.test(message.text())) {
      problems.push(`console error: ${message.text()}`);
    }
  });
  const dialogs = [];
  page.on('dialog', async (dialog) => {
    dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    await dialog.dismiss();
  });

  // The page loads without a token, confined by its headers.
  const response = await page.goto(options.url, { waitUntil: 'load' });
  check(response.status() === 200, `GET / answered ${response.status()}`);
  const headers = response.headers();
  check(/^default-src 'none'; script-src 'sha256-/.test(headers['content-security-policy'] || ''),
        `Content-Security-Policy: ${headers['content-security-policy']}`);
  check(headers['x-content-type-options'] === 'nosniff', 'no X-Content-Type-Options: nosniff');
  check(headers['cache-control'] === 'no-store', 'no Cache-Control: no-store');
  log('page loaded');

  // The API wants the token: the page says so.
  await page.waitForFunction(
    () => /needs its token/.test(document.getElementById('banner').textContent), { timeout: 10000 });
  log('asked for the token');
  await page.type('#token', options.token);
  await page.type('#requester', 'browser e2e');
  await page.click('#token-save');
  await page.waitForSelector(`article[data-table="${options.force}"]`, { timeout: 10000 });
  check(await page.$eval('#banner', (node) => node.hidden), 'the banner stays after the token');
  check(await page.evaluate(() => sessionStorage.getItem('rsi.token')) === options.token,
        'the token is not in sessionStorage');
  check(await page.evaluate(() => localStorage.length) === 0, 'something went to localStorage');
  log('status shown');

  // The numbers shown are /control/status's.
  const status = await apiStatus();
  const shownTables = await page.$$eval('article[data-table]', (nodes) => nodes.map((n) => n.getAttribute('data-table')));
  check(JSON.stringify(shownTables) === JSON.stringify(status.Tables.map((t) => t.Table)),
        `tables shown ${JSON.stringify(shownTables)}`);
  for (const table of status.Tables) {
    const fields = await card(page, table.Table);
    const expect = (field, value, text) => {
      check(fields[field], `${table.Table}: no ${field} shown`);
      check(fields[field][0] === String(value), `${table.Table} ${field}: data-value ${fields[field][0]}, API ${value}`);
      if (text !== undefined) check(fields[field][1] === text, `${table.Table} ${field}: shows "${fields[field][1]}", expected "${text}"`);
    };
    expect('InQueueFiles', table.InQueueFiles, number(table.InQueueFiles));
    expect('LoadedRows', table.LoadedLastHour.Rows, number(table.LoadedLastHour.Rows));
    expect('LoadedFiles', table.LoadedLastHour.Files, number(table.LoadedLastHour.Files));
    expect('InFlight', table.InFlight.length);
    expect('LastLoad', table.LastLoad || '');
    if (table.QuarantinedFiles) expect('QuarantinedFiles', table.QuarantinedFiles, number(table.QuarantinedFiles));
    check(fields.version[1].startsWith(`v${table.CurrentVersion}`), `${table.Table}: version shows "${fields.version[1]}"`);
    const bars = await page.$$eval(`article[data-table="${table.Table}"] svg rect.rows`, (nodes) => nodes.length);
    check(bars === table.LoadHistory.length, `${table.Table}: ${bars} bars for ${table.LoadHistory.length} minutes with loads`);
    log(`${table.Table}: ${table.InQueueFiles} waiting, ${table.LoadedLastHour.Rows} rows / ${table.LoadedLastHour.Files} files in the last hour, as the API says`);
  }
  const summary = await page.$$eval('[data-summary]', (nodes) =>
    Object.fromEntries(nodes.map((n) => [n.getAttribute('data-summary'), n.getAttribute('data-value')])));
  check(summary.RejectedTotal === String(status.RejectedTotal), `rejected total ${summary.RejectedTotal}`);
  check(summary.QuarantinedFiles === String(status.QuarantinedFiles), `quarantined total ${summary.QuarantinedFiles}`);
  const pills = await page.$$eval('[data-dependency]', (nodes) =>
    Object.fromEntries(nodes.map((n) => [n.getAttribute('data-dependency'), n.getAttribute('data-state')])));
  for (const [name, health] of Object.entries(status.Dependencies)) {
    const expected = health === null ? 'off' : health.Ok ? 'ok' : 'bad';
    check(pills[name] === expected, `dependency ${name} shows ${pills[name]}, API says ${expected}`);
  }
  for (const [kind, count] of Object.entries(status.RejectedMessages)) {
    const shown = await page.$eval(`[data-rejected-kind="${kind}"]`, (node) => node.getAttribute('data-value'));
    check(shown === String(count), `rejected ${kind}: ${shown}`);
  }
  // Markup from the data stays text.
  check(await page.$('img') === null, 'an <img> from a rejected message became an element');
  check(await page.evaluate(() => document.body.textContent.includes('<img src=x')) ||
        !JSON.stringify(status).includes('<img src=x'), 'the rejected message text is not shown as text');
  log('summary, dependencies and rejected messages match');

  await page.screenshot({ path: options.screenshot, fullPage: true });
  log(`screenshot ${options.screenshot}`);

  // A destructive action asks first; declined, nothing happens.
  const drop = await page.$('article[data-table] button.danger');
  if (drop) {
    const before = (await apiStatus()).QuarantinedFiles;
    await drop.click();
    check(dialogs.length === 1 && dialogs[0].startsWith('confirm:'), `no confirm before a drop: ${dialogs}`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    check((await apiStatus()).QuarantinedFiles === before, 'a declined drop dropped');
    log('a drop asked first, and declined did nothing');
  }

  // Force load of the waiting table: the API answers, and the waiting file loads.
  const waiting = status.Tables.find((t) => t.Table === options.force);
  check(waiting && waiting.InQueueFiles > 0, `${options.force} has no waiting file`);
  const forceButton = await page.waitForSelector(`article[data-table="${options.force}"] > .actions button`);
  check(await forceButton.evaluate((node) => node.textContent) === 'Force load', 'no Force load button');
  await forceButton.click();
  await page.waitForFunction((table) => {
    const notice = document.getElementById('notice');
    return !notice.hidden && notice.textContent.includes(`force load of ${table}: done (204)`);
  }, { timeout: 10000 }, options.force);
  log('force load answered 204');
  await page.waitForFunction((table) => {
    const card = document.querySelector(`article[data-table="${table}"]`);
    const value = (field) => card && card.querySelector(`[data-field="${field}"]`).getAttribute('data-value');
    return value('InQueueFiles') === '0' && Number(value('LoadedFiles')) > 0 && value('LastLoad') !== '';
  }, { timeout: 20000 }, options.force);
  log(`${options.force}: the waiting file loaded, shown by the page`);

  // On a phone: one column, nothing wider than the screen.
  await page.setViewport({ width: 390, height: 844, isMobile: true, hasTouch: true, deviceScaleFactor: 1 });
  await page.reload({ waitUntil: 'load' });
  await page.waitForSelector(`article[data-table="${options.force}"]`, { timeout: 10000 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 0, `the page is ${overflow} px wider than a phone`);
  await page.screenshot({ path: options['phone-screenshot'], fullPage: true });
  log(`phone screenshot ${options['phone-screenshot']}`);

  // The API unreachable: a banner says so.
  await page.setRequestInterception(true);
  page.on('request', (request) => (request.url().includes('/control/') ? request.abort() : request.continue()));
  await page.click('#token-save'); // Refreshes now rather than within 5 s.
  await page.waitForFunction(
    () => /Cannot reach the control API/.test(document.getElementById('banner').textContent), { timeout: 12000 });
  log('unreachable API: banner shown');

  check(problems.length === 0, `the page had errors: ${problems.join('; ')}`);
  check(dialogs.every((d) => d.startsWith('confirm:')), `unexpected dialogs: ${dialogs}`);
  log('all checks passed');
} catch (error) {
  failed = true;
  console.error(error instanceof CheckFailed ? `FAILED: ${error.message}` : error.stack || String(error));
  if (problems.length) console.error(`the page had errors: ${problems.join('; ')}`);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);

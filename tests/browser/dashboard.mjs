// The dashboard's browser test, driven by tests/e2e/dashboard_test.sh: Playwright (playwright-core)
// drives Debian's Chromium headless against a real manager and agent, and starts a real
// snaptun-client (relay mode) with the join token the dashboard created. Prints TAP lines
// ("ok - …" / "not ok - …"); the shell script counts them.
//
// Environment: URL (the manager), ADMIN and READ (tokens), CLIENT (snaptun-client), WORK (a
// scratch directory), OUT (where the screenshots go), CHROMIUM (default /usr/bin/chromium).
import { spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { chromium } from 'playwright-core';

const env = (k) => {
	if (!process.env[k]) throw new Error(`${k} is not set`);
	return process.env[k];
};
const URL = env('URL');
const OUT = env('OUT');
const WORK = env('WORK');
const CLIENT = env('CLIENT');
let failed = 0;
const consoleErrors = [];
const children = [];

function ok(desc) {
	console.log(`ok - ${desc}`);
}
function notOk(desc, why) {
	failed++;
	console.log(`not ok - ${desc}`);
	for (const l of String(why).split('\n').slice(0, 12)) console.log(`# ${l}`);
}
// check(desc, fn): one TAP line from an async step that throws on failure.
async function check(desc, fn) {
	try {
		await fn();
		ok(desc);
		return true;
	} catch (e) {
		notOk(desc, e && e.stack ? e.stack : e);
		return false;
	}
}
function assert(cond, msg) {
	if (!cond) throw new Error(msg);
}

// Console errors a step provoked on purpose (a refused token, a conflict), or that the
// dashboard's one probe for an endpoint this manager lacks causes, as [status, path] pairs;
// every other console error fails the test.
const expected = [];
function expect(status, path) {
	expected.push([status, path]);
}
function isExpected(e) {
	return expected.some(([st, p]) => e.text.includes(`status of ${st} `) && new globalThis.URL(e.url).pathname + new globalThis.URL(e.url).search === p);
}

// An IPv4/UDP packet of size bytes from src to dst (header checksum set; the UDP checksum 0,
// which IPv4 allows).
function ipv4Udp(src, dst, size) {
	const b = Buffer.alloc(size);
	b[0] = 0x45;
	b.writeUInt16BE(size, 2);
	b[8] = 64;
	b[9] = 17;
	src.split('.').forEach((o, i) => { b[12 + i] = Number(o); });
	dst.split('.').forEach((o, i) => { b[16 + i] = Number(o); });
	let sum = 0;
	for (let i = 0; i < 20; i += 2) sum += b.readUInt16BE(i);
	while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
	b.writeUInt16BE(~sum & 0xffff, 10);
	b.writeUInt16BE(40000, 20);
	b.writeUInt16BE(9, 22);
	b.writeUInt16BE(size - 20, 24);
	return b;
}

function watch(page, label) {
	page.on('console', (m) => {
		if (m.type() === 'error') consoleErrors.push({ label, text: m.text(), url: m.location().url || URL });
	});
	page.on('pageerror', (e) => consoleErrors.push({ label, text: `uncaught ${e.message}`, url: URL }));
}

async function shot(page, name) {
	await page.screenshot({ path: `${OUT}/${name}.png`, fullPage: true });
}

async function login(page, token) {
	await page.goto(`${URL}/`);
	await page.waitForSelector('#token');
	// The keyboard only: the field has the focus, Enter submits.
	await page.keyboard.type(token);
	await page.keyboard.press('Enter');
	await page.waitForSelector('#nav:not([hidden])');
}

async function go(page, name) {
	await page.click(`#nav a[href="#/${name}"]`);
	await page.waitForSelector(`#nav a[href="#/${name}"][aria-current="page"]`);
}

// The browser logs each refused request; these are refused on purpose below.
expect(401, '/v1/admin-tokens/self');
expect(409, '/v1/pools');
expect(403, '/v1/pools');
expect(400, '/v1/grants?pool=x1&limit=25');
// Endpoints of the other parts (metrics, the event stream, events newest first) may be
// missing from this manager: the dashboard asks once per tab, and falls back.
async function missing(path) {
	const r = await fetch(`${URL}${path}`, { headers: { Authorization: `Bearer ${env('ADMIN')}` } });
	return r.status === 404 || r.status === 400 ? r.status : 0;
}
for (const p of ['/metrics', '/v1/events/stream', '/v1/events?order=desc&limit=20', '/v1/events?order=desc&limit=1']) {
	const st = await missing(p);
	if (st) {
		console.log(`# ${p} answers ${st} here: the dashboard's one probe of it is allowed to log`);
		expect(st, p);
	}
}

const browser = await chromium.launch({
	executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
	headless: true,
	// The test runs as root in a container: Chromium's sandbox needs user namespaces.
	args: ['--no-sandbox'],
});
try {
	const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
	const page = await ctx.newPage();
	watch(page, 'admin');

	await check('a refused token is shown as a problem with its title and detail', async () => {
		await page.goto(`${URL}/`);
		await page.waitForSelector('#token');
		await shot(page, 'login');
		await page.fill('#token', 'sna_not-a-token');
		await page.keyboard.press('Enter');
		const alert = await page.waitForSelector('.problem[role=alert]');
		const text = await alert.innerText();
		assert(/Unauthorized/.test(text) && /unknown, revoked or expired/.test(text), `alert says: ${text}`);
		assert((await page.getAttribute('#token', 'aria-invalid')) === 'true', 'the token field is not marked invalid');
	});

	await check('logging in with the admin token by keyboard shows the overview with scope admin', async () => {
		await page.fill('#token', '');
		await login(page, env('ADMIN'));
		assert((await page.innerText('#scope')) === 'scope: admin', `scope: ${await page.innerText('#scope')}`);
		await page.waitForFunction(() => /connected/.test(document.querySelector('main').innerText));
		await page.waitForSelector('#stat-agents');
		assert(/^1 of 1$/.test(await page.innerText('#stat-agents')), `agents: ${await page.innerText('#stat-agents')}`);
		await shot(page, 'overview');
	});

	await check('the metrics reader unescapes label values as the text format escapes them', async () => {
		const labels = await page.evaluate(async () => {
			const m = await import('/js/metrics.js');
			return m.parseProm('x{pool="a\\\\nb",q="say \\"hi\\"",n="l1\\nl2"} 1\n')[0].labels;
		});
		assert(labels.pool === 'a\\nb' && labels.q === 'say "hi"' && labels.n === 'l1\nl2', JSON.stringify(labels));
	});

	await check('the keyboard alone reaches the navigation from the page, and Enter opens a page there', async () => {
		// A page takes the focus when it opens; the header's controls are just before it.
		assert(await page.evaluate(() => document.activeElement.id === 'main'), 'the page does not have the focus');
		await page.keyboard.press('Shift+Tab');
		assert((await page.evaluate(() => document.activeElement.textContent)) === 'Log out', 'Shift+Tab is not on Log out');
		await page.keyboard.press('Shift+Tab');
		const label = await page.evaluate(() => document.activeElement.textContent);
		assert(label === 'Events', `the second Shift+Tab is on "${label}"`);
		await page.keyboard.press('Enter');
		await page.waitForSelector('#nav a[href="#/events"][aria-current="page"]');
		assert(await page.evaluate(() => document.activeElement.id === 'main'), 'the new page does not have the focus');
		await page.keyboard.press('Tab');
		const first = await page.evaluate(() => document.activeElement.getAttribute('name'));
		assert(first === 'action', `Tab from the page is on "${first}", not its first filter`);
	});

	let poolId = null;
	await check('a pool created in the dashboard is listed with its utilisation', async () => {
		await go(page, 'pools');
		await page.fill('input[name=name]', 'web-pool');
		await page.fill('input[name=isd_as]', '1-ff00:0:110');
		await page.fill('input[name=prefix]', '10.88.0.0/24');
		await page.click('button:has-text("Create pool")');
		const n = await page.waitForSelector('.notice:has-text("web-pool created")');
		poolId = Number(/id (\d+)/.exec(await n.innerText())[1]);
		const row = await page.waitForSelector(`tr[data-id="${poolId}"]`);
		assert(/0 of 254/.test(await row.innerText()), `row: ${await row.innerText()}`);
		await shot(page, 'pools');
	});

	await check('a conflicting pool is refused with the problem and its field marked', async () => {
		await page.fill('input[name=name]', 'web-pool');
		await page.fill('input[name=isd_as]', '1-ff00:0:110');
		await page.fill('input[name=prefix]', '10.89.0.0/24');
		await page.click('button:has-text("Create pool")');
		const alert = await page.waitForSelector('.problem[role=alert]');
		const text = await alert.innerText();
		assert(/Conflict/.test(text) && /Field: name/.test(text), `alert says: ${text}`);
		assert((await page.getAttribute('input[name=name]', 'aria-invalid')) === 'true', 'name not marked invalid');
		await page.fill('input[name=name]', '');
		await page.fill('input[name=prefix]', '');
	});

	await check('editing the hold time and reserving an address', async () => {
		await page.click(`tr[data-id="${poolId}"] button`);
		await page.fill('#pool-detail input[name=hold_seconds]', '120');
		await page.click('#pool-detail button:has-text("Save hold time")');
		await page.waitForSelector('.notice:has-text("hold time now 120 s")');
		await page.fill('#pool-detail input[name=pssid]', '6f1c2a9e-4f7b-4d7e-9a53-2a2d0f3c8b11');
		await page.fill('#pool-detail input[name=address]', '10.88.0.200');
		await page.click('#pool-detail button:has-text("Reserve")');
		await page.waitForSelector('.notice:has-text("Reserved 10.88.0.200")');
		await page.waitForSelector('#pool-detail td:has-text("10.88.0.200")');
		await page.waitForSelector(`tr[data-id="${poolId}"] td:has-text("1 of 254")`);
	});

	let secret = null;
	await check('join tokens created for the pool show their secrets once', async () => {
		await go(page, 'join-tokens');
		await page.fill('input[name=count]', '2');
		await page.fill('input[name=pool]', String(poolId));
		await page.fill('input[name=labels]', 'site=web, test=yes');
		await page.click('button:has-text("Create")');
		await page.waitForSelector('#new-tokens .secret');
		const codes = await page.$$eval('#new-tokens code', (cs) => cs.map((c) => c.textContent));
		assert(codes.length === 2 && codes.every((c) => /^snj_/.test(c)), `secrets: ${codes}`);
		secret = codes[0];
		await page.waitForSelector('td:has-text("site=web, test=yes")');
		await shot(page, 'join-tokens');
	});

	// The endhost, with the token the dashboard made: its session must show up live.
	await check('snaptun-client joins with the dashboard\'s token and comes up', async () => {
		const j = spawnSync(CLIENT, ['join', '--manager', URL, '--token', secret, '--name', 'web-client', '--bundle', `${WORK}/web.bundle`], { encoding: 'utf8', timeout: 15000 });
		assert(j.status === 0, `join: ${j.status} ${j.stderr}`);
		const up = spawn(CLIENT, ['up', '--bundle', `${WORK}/web.bundle`, '--relay', '127.0.0.1:0', '--control', `${WORK}/web.sock`, '--log-level', 'debug'], { stdio: ['ignore', 'ignore', 'pipe'] });
		children.push(up);
		up.stderr.on('data', () => {});
	});

	let sessionId = null;
	await check('the session appears on the sessions page without a reload', async () => {
		await go(page, 'sessions');
		const row = await page.waitForSelector('tr[data-id]:has-text("10.88.0.")', { timeout: 20000 });
		sessionId = await row.getAttribute('data-id');
		await shot(page, 'sessions');
	});

	await check('the live sessions list keeps the keyboard focus on its Kill button across refreshes', async () => {
		await page.focus(`tr[data-id="${sessionId}"] button:has-text("Kill")`);
		// The list reloads every 2 s: two reloads.
		await page.waitForTimeout(4500);
		const label = await page.evaluate(() => document.activeElement.getAttribute('aria-label'));
		assert(label === `Kill session ${sessionId}`, `the focus is on ${label === null ? await page.evaluate(() => document.activeElement.tagName) : label}`);
	});

	await check('killing the session in the dashboard makes it leave the list', async () => {
		await page.click(`tr[data-id="${sessionId}"] button:has-text("Kill")`);
		await page.waitForSelector(`.notice:has-text("Session ${sessionId} killed")`);
		await page.waitForSelector(`tr[data-id="${sessionId}"]`, { state: 'detached', timeout: 15000 });
	});

	// Traffic through the client's relay (each UDP datagram is one IP packet into the tunnel):
	// the overview's chart must show uplink above zero once the agent's STATS report it.
	await check('the throughput chart shows the uplink traffic a client sends', async () => {
		await go(page, 'overview');
		let relay = null;
		for (let i = 0; i < 100 && !relay; i++) {
			const st = spawnSync(CLIENT, ['status', '--json', '--control', `${WORK}/web.sock`], { encoding: 'utf8', timeout: 5000 });
			const m = /"device": ?"relay 127\.0\.0\.1:(\d+)"/.exec(st.stdout || '');
			const up = /"state": ?"up"/.test(st.stdout || '');
			const addr = /"address": ?"([\d.]+)"/.exec(st.stdout || '');
			if (m && up && addr) relay = { port: Number(m[1]), addr: addr[1] };
			else await new Promise((r) => setTimeout(r, 200));
		}
		assert(relay, 'the client did not come up again after the kill');
		const sock = dgram.createSocket('udp4');
		const pkt = ipv4Udp(relay.addr, '10.77.0.9', 1000);
		const end = Date.now() + 20000;
		let seen = false;
		while (!seen && Date.now() < end) {
			for (let i = 0; i < 50; i++) sock.send(pkt, relay.port, '127.0.0.1');
			await new Promise((r) => setTimeout(r, 250));
			seen = await page.evaluate(() => {
				const pts = document.querySelector('svg.chart polyline.up').getAttribute('points').trim();
				return pts !== '' && pts.split(' ').some((p) => Number(p.split(',')[1]) < 150);
			});
		}
		sock.close();
		assert(seen, 'the uplink line stayed at zero for 20 s');
		await shot(page, 'overview-traffic');
	});

	await check('the overview counts sessions and shows recent events live', async () => {
		await go(page, 'overview');
		await page.waitForFunction(() => document.querySelectorAll('#recent-events li').length > 0, null, { timeout: 15000 });
		const evs = await page.innerText('#recent-events');
		assert(/session\.kill/.test(evs) && /pool\.create/.test(evs), `events: ${evs}`);
		await shot(page, 'overview-live');
	});

	for (const name of ['grants', 'clients', 'revocations', 'keys', 'events']) {
		await check(`the ${name} page lists what the API has`, async () => {
			await go(page, name);
			const want = { grants: '10.88.0.', clients: 'web-client', revocations: 'Nothing is revoked', keys: 'active', events: 'session.kill' }[name];
			await page.waitForSelector(`main :text("${want}")`, { timeout: 10000 });
			await shot(page, name);
		});
	}

	await check('a bad filter is refused with the problem naming the parameter, its input marked', async () => {
		await go(page, 'grants');
		await page.fill('input[name=pool]', 'x1');
		await page.click('button:has-text("Filter")');
		const alert = await page.waitForSelector('.problem[role=alert]');
		assert(/Invalid request/.test(await alert.innerText()) && /Field: pool/.test(await alert.innerText()), await alert.innerText());
		assert((await page.getAttribute('input[name=pool]', 'aria-invalid')) === 'true', 'pool not marked invalid');
		await page.fill('input[name=pool]', '');
		await page.click('button:has-text("Filter")');
		await page.waitForSelector('.problem[role=alert]', { state: 'detached' });
	});

	await check('the grant history opens from the grants page', async () => {
		await go(page, 'grants');
		await page.click('tr[data-id] button:has-text("History")');
		await page.waitForSelector('h3:has-text("History of grant")');
		await page.waitForSelector('td:has-text("assign")');
	});

	await check('events page: the filter by action narrows the list', async () => {
		await go(page, 'events');
		await page.fill('input[name=action]', 'pool.create');
		await page.click('button:has-text("Filter")');
		await page.waitForFunction(() => {
			const cells = [...document.querySelectorAll('main tbody tr td:nth-child(4)')].map((td) => td.textContent);
			return cells.length > 0 && cells.every((t) => t === 'pool.create');
		});
	});

	await check('30 join tokens in one go, and the list pages with the cursor (Next, Previous)', async () => {
		await go(page, 'join-tokens');
		await page.fill('input[name=count]', '30');
		await page.fill('input[name=labels]', 'fleet=paging');
		await page.click('button:has-text("Create")');
		await page.waitForSelector('.notice:has-text("30 join tokens created")');
		assert((await page.$$('#new-tokens .secret')).length === 30, 'not 30 secrets shown');
		await page.waitForSelector('.pager span:has-text("page 1, 25 shown, more after")');
		const first = await page.$$eval('tr[data-id]', (rs) => rs.map((r) => r.dataset.id));
		await page.click('button:has-text("Next →")');
		await page.waitForSelector('.pager span:has-text("page 2, 7 shown")');
		const second = await page.$$eval('tr[data-id]', (rs) => rs.map((r) => r.dataset.id));
		assert(second.every((id) => !first.includes(id)) && Number(second[0]) > Number(first[24]), `pages overlap: ${first} / ${second}`);
		assert(await page.isDisabled('button:has-text("Next →")'), 'Next enabled on the last page');
		await page.click('button:has-text("← Previous")');
		await page.waitForSelector('.pager span:has-text("page 1, 25 shown")');
	});

	await check('join tokens filtered by state: revoking one moves it to aborted', async () => {
		await page.click('tr[data-id="3"] button:has-text("Revoke")');
		await page.waitForSelector('.notice:has-text("Join token 3 aborted")');
		await page.selectOption('select[name=state]', 'aborted');
		await page.click('button:has-text("Filter")');
		await page.waitForSelector('.pager span:has-text("page 1, 1 shown")');
		assert(/aborted/.test(await page.innerText('tr[data-id="3"]')), 'token 3 is not listed as aborted');
	});

	await check('a client is renamed and gets a minted access token shown once', async () => {
		await go(page, 'clients');
		await page.click('button:has-text("Manage web-client")');
		await page.fill('input[name=name]', 'web-client-2');
		await page.click('button:has-text("Rename")');
		await page.waitForSelector('.notice:has-text("renamed to web-client-2")');
		await page.waitForSelector('td:has-text("web-client-2")');
		await page.click('button:has-text("Mint access token")');
		const code = await page.waitForSelector('.secret code');
		assert(/^ey[\w-]+\.[\w-]+\.[\w-]+$/.test(await code.innerText()), 'not a JWS');
	});

	await check('a pssid is revoked and the revocation lifted', async () => {
		await go(page, 'revocations');
		await page.fill('input[name=pssid]', '3d9f6b2e-1a4c-4f8d-b7e5-9c0a2d4f6e81');
		await page.fill('input[name=reason]', 'stolen laptop');
		await page.click('button:has-text("Revoke")');
		await page.waitForSelector('td:has-text("stolen laptop")');
		await shot(page, 'revocations');
		await page.click('tr[data-id="3d9f6b2e-1a4c-4f8d-b7e5-9c0a2d4f6e81"] button:has-text("Lift")');
		await page.waitForSelector('.notice:has-text("lifted")');
		await page.waitForSelector('td:has-text("Nothing is revoked")');
	});

	await check('rotating the signing key makes a new active key and keeps the old one verifying', async () => {
		await go(page, 'keys');
		await page.waitForSelector('td:has-text("active")');
		await page.click('button:has-text("Rotate the signing key")');
		await page.waitForSelector('.notice:has-text("New active key")');
		await page.waitForFunction(() => [...document.querySelectorAll('tbody td:nth-child(3)')].map((t) => t.textContent).sort().join() === 'active,verify');
		await shot(page, 'keys');
	});

	// Names, labels and reasons are anyone's text with admin rights (or a provision token's):
	// the pages must show markup in them as text.
	await check('markup in names, labels and reasons is shown as text, never run', async () => {
		const api = async (path, body) => {
			const r = await fetch(`${URL}${path}`, { method: 'POST', headers: { Authorization: `Bearer ${env('ADMIN')}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
			assert(r.status === 201, `POST ${path}: ${r.status} ${await r.text()}`);
		};
		const pool = '<img src=x onerror="window.__xss=1">';
		await api('/v1/pools', { name: pool, isd_as: '1-ff00:0:110', prefix: '10.91.0.0/24' });
		await api('/v1/join-tokens', { name: '<b id="xss-b">bold</b>', labels: { k: '<script>window.__xss=2</script>' } });
		await api('/v1/revocations', { pssid: '0b0e4f7c-2d1a-4c3b-8e9f-a1b2c3d4e5f6', reason: '<svg onload="window.__xss=3">' });
		for (const [name, text] of [['pools', pool], ['join-tokens', '<b id="xss-b">bold</b>'], ['revocations', '<svg onload="window.__xss=3">'], ['overview', pool], ['events', 'onerror']]) {
			await go(page, name);
			if (name === 'join-tokens') {
				// Past the first page (oldest first): filtered by its label.
				await page.fill('input[name=label]', 'k');
				await page.click('button:has-text("Filter")');
			}
			const shown = await page.waitForFunction((t) => document.querySelector('main').innerText.includes(t), text, { timeout: 10000 }).then(() => true, () => false);
			assert(shown, `the ${name} page does not show ${text}`);
			const bad = await page.evaluate(() => ({ xss: window.__xss, els: document.querySelectorAll('main img, main script, main svg:not(.chart), #xss-b').length }));
			assert(bad.xss === undefined && bad.els === 0, `${name}: ${JSON.stringify(bad)}`);
		}
	});

	await check('at 390 px wide every page fits without horizontal scrolling of the page', async () => {
		await page.setViewportSize({ width: 390, height: 844 });
		for (const name of ['overview', 'pools', 'sessions', 'join-tokens', 'events']) {
			await go(page, name);
			await page.waitForTimeout(300);
			const w = await page.evaluate(() => document.documentElement.scrollWidth);
			assert(w <= 390, `${name} is ${w} px wide`);
			await shot(page, `${name}-390`);
		}
		await page.setViewportSize({ width: 1280, height: 800 });
	});

	// A second tab (its own session storage) with the read token.
	const rctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
	const rpage = await rctx.newPage();
	watch(rpage, 'read');
	await check('a read token sees everything with the write controls disabled', async () => {
		await login(rpage, env('READ'));
		assert(/^scope: read/.test(await rpage.innerText('#scope')), `scope: ${await rpage.innerText('#scope')}`);
		await go(rpage, 'pools');
		await rpage.waitForSelector('tr[data-id]');
		assert(await rpage.isDisabled('button:has-text("Create pool")'), 'Create pool is enabled');
		assert(await rpage.isDisabled('input[name=name]'), 'the pool name field is enabled');
		await go(rpage, 'join-tokens');
		await rpage.waitForSelector('tr[data-id]');
		assert(await rpage.isDisabled('button:has-text("Create")'), 'Create join tokens is enabled');
		const revokes = await rpage.$$eval('button:has-text("Revoke")', (bs) => bs.map((b) => b.disabled));
		assert(revokes.length > 0 && revokes.every(Boolean), `Revoke buttons: ${revokes}`);
		await go(rpage, 'sessions');
		await rpage.waitForSelector('tr[data-id]', { timeout: 20000 }); // the client reconnected
		const kills = await rpage.$$eval('button:has-text("Kill")', (bs) => bs.map((b) => b.disabled));
		assert(kills.length > 0 && kills.every(Boolean), `Kill buttons: ${kills}`);
		await go(rpage, 'keys');
		await rpage.waitForSelector('td:has-text("active")');
		assert(await rpage.isDisabled('button:has-text("Rotate")'), 'Rotate is enabled');
		await shot(rpage, 'read-only-keys');
	});
	await check('a read token cannot write even past the disabled controls (403 problem)', async () => {
		const res = await rpage.evaluate(async (t) => {
			const r = await fetch('/v1/pools', { method: 'POST', headers: { Authorization: `Bearer ${t}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'x', isd_as: '1-ff00:0:110', prefix: '10.90.0.0/24' }) });
			return { status: r.status, type: r.headers.get('content-type'), body: await r.json() };
		}, env('READ'));
		assert(res.status === 403 && res.type === 'application/problem+json' && res.body.title === 'Forbidden', JSON.stringify(res));
	});

	await check('a provision token sees the join tokens and pools pages only, and may create join tokens', async () => {
		await rpage.click('#logout');
		await login(rpage, env('PROVISION'));
		await rpage.waitForSelector('#nav a[href="#/join-tokens"][aria-current="page"]');
		const shown = await rpage.$$eval('#nav a', (as) => as.filter((a) => !a.hidden).map((a) => a.getAttribute('href')));
		assert(shown.join() === '#/pools,#/join-tokens', `nav: ${shown}`);
		assert(!(await rpage.isDisabled('button:has-text("Create")')), 'Create disabled for provision');
		await rpage.goto(`${URL}/#/sessions`);
		await rpage.waitForSelector('#nav a[href="#/join-tokens"][aria-current="page"]');
	});

	await check('logging out forgets the token', async () => {
		await rpage.click('#logout');
		await rpage.waitForSelector('#token');
		assert((await rpage.evaluate(() => sessionStorage.length)) === 0, 'session storage not empty');
	});

	await check('no console errors and no uncaught exceptions in any page', async () => {
		const bad = consoleErrors.filter((e) => !isExpected(e));
		assert(bad.length === 0, bad.map((e) => `${e.label}: ${e.text} (${e.url})`).join('\n'));
	});
} catch (e) {
	notOk('the browser test ran to its end', e && e.stack ? e.stack : e);
} finally {
	for (const c of children) c.kill('SIGTERM');
	await browser.close();
}
process.exit(failed ? 1 : 0);

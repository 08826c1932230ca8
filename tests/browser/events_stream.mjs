// The dashboard's event-stream reader (web/js/events.js) against a stand-in server in this
// process: the newest page of the log first (order=desc), then the stream from after it (the
// "gap" its position causes is not shown); events split across chunks and lines ending in
// CRLF, comments (heartbeats), a multi-line data field; after the server drops the stream the
// reader reconnects with Last-Event-ID of the last event it got and misses nothing, sees
// nothing twice; a position the manager refuses (400) is dropped, not sent again; a manager
// without the stream (404) is polled with GET /v1/events?order=desc instead, without repeating
// the page already shown. Prints TAP lines.
import http from 'node:http';

const store = new Map();
globalThis.sessionStorage = {
	getItem: (k) => (store.has(k) ? store.get(k) : null),
	setItem: (k, v) => store.set(k, String(v)),
	removeItem: (k) => store.delete(k),
	clear: () => store.clear(),
};
globalThis.window = new EventTarget();
let base = '';
const realFetch = globalThis.fetch;
globalThis.fetch = (url, init) => realFetch(url.startsWith('/') ? base + url : url, init);

const { follow } = await import('../../web/js/events.js');
const { session } = await import('../../web/js/api.js');
session.set('sna_test');

let failed = 0;
function check(desc, cond, why) {
	if (cond) {
		console.log(`ok - ${desc}`);
	} else {
		failed++;
		console.log(`not ok - ${desc}`);
		if (why) console.log(`# ${why}`);
	}
}

const ev = (id, action) => `id: ${id}\nevent: audit\ndata: {"id":${id},"action":"${action}",\ndata: "object":"pool:${id}"}\n\n`;
const seen = [];
const lastIds = [];
let mode = 'stream';
let auths = [];
const server = http.createServer((req, res) => {
	auths.push(req.headers.authorization);
	if (req.url.startsWith('/v1/events/stream')) {
		if (mode === 'absent') {
			res.writeHead(404, { 'Content-Type': 'application/problem+json' });
			return res.end('{"title":"Not found","status":404}');
		}
		lastIds.push(req.headers['last-event-id'] ?? null);
		if (mode === 'refuses' && req.headers['last-event-id'] !== undefined) {
			res.writeHead(400, { 'Content-Type': 'application/problem+json' });
			return res.end('{"title":"Invalid request","status":400,"detail":"the position names audit event 9; the log holds 3","field":"Last-Event-ID"}');
		}
		res.writeHead(200, { 'Content-Type': 'text/event-stream' });
		if (mode === 'refuses') {
			res.write(ev(12, 'pool.delete'));
			return undefined;
		}
		if (lastIds.length === 1) {
			// Two events, the second split mid-line over two writes, then the stream drops.
			res.write('id: 9-0-77\nevent: gap\ndata: {"reason":"another manager process"}\n\n');
			res.write(': heartbeat\r\n\r\n');
			res.write(ev(10, 'pool.create').replace(/\n/g, '\r\n'));
			const second = ev(11, 'pool.update');
			res.write(second.slice(0, 20));
			setTimeout(() => { res.write(second.slice(20)); res.end(); }, 50);
		} else {
			res.write(ev(12, 'pool.delete'));
			// Kept open: the reader must not reconnect while nothing is wrong.
		}
		return undefined;
	}
	if (req.url.startsWith('/v1/events?')) {
		const u = new URL(req.url, 'http://x');
		res.writeHead(200, { 'Content-Type': 'application/json' });
		return res.end(JSON.stringify({ items: u.searchParams.get('order') === 'desc' ? [{ id: 9, action: 'key.rotate' }, { id: 8, action: 'pool.create' }] : [], next: null }));
	}
	res.writeHead(404);
	return res.end();
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
base = `http://127.0.0.1:${server.address().port}`;

const until = async (cond, ms) => {
	for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 20))) if (cond()) return true;
	return cond();
};

const statuses = [];
let stop = follow((e) => seen.push(e), (s) => statuses.push(s));
await until(() => seen.length >= 5, 5000);
stop();
check('the newest page, then three events in order across a dropped stream, no gap shown', seen.map((e) => e.data.action).join() === 'pool.create,key.rotate,pool.create,pool.update,pool.delete', JSON.stringify(seen));
check('a multi-line data field is one JSON object', seen[2] && seen[2].data.object === 'pool:10', JSON.stringify(seen[2]));
check('the stream starts after the page, and the reconnect sends Last-Event-ID of the last event received', lastIds.join() === '9-0-0,11', JSON.stringify(lastIds));
check('every request carries the token as a bearer credential', auths.every((a) => a === 'Bearer sna_test'), JSON.stringify(auths));
check('the status says the stream is live', statuses.includes('live (event stream)'), JSON.stringify(statuses));

// A position the manager refuses (400: its log is not the one the position came from): the
// reader goes on from the present instead of asking with it again and again.
mode = 'refuses';
seen.length = 0;
lastIds.length = 0;
statuses.length = 0;
stop = follow((e) => seen.push(e), (s) => statuses.push(s));
await until(() => seen.length >= 3, 5000);
await new Promise((r) => setTimeout(r, 300));
stop();
check('a refused position (400) is dropped: the stream goes on from the present, once', seen.map((e) => e.data.action).join() === 'pool.create,key.rotate,pool.delete' && lastIds.join() === '9-0-0,', `${JSON.stringify(seen)} ${JSON.stringify(lastIds)}`);

mode = 'absent';
seen.length = 0;
statuses.length = 0;
stop = follow((e) => seen.push(e), (s) => statuses.push(s));
await until(() => seen.length >= 2 && statuses.includes('polling every 5 s'), 5000);
await new Promise((r) => setTimeout(r, 200));
stop();
check('without the stream (404) the newest events are polled, oldest of them first, none twice', seen.map((e) => e.data.action).join() === 'pool.create,key.rotate', JSON.stringify(seen));
check('the missing stream is remembered for the tab', sessionStorage.getItem('snaptun.absent.events-stream') === '1');
server.close();
server.closeAllConnections();
process.exit(failed ? 1 : 0);

// A fake DropFix ingestion server for the browser SDK's tests (PRODUCT §3 wire format):
// records every POST /v1/batch as it arrived, answers with scripted statuses, serves the
// built SDK and test pages. It checks nothing about keys: the SDK is what is under test.
//
// As a module:
//   const fake = await startIngestFake({ pages: { '/app': '<html>…' } });
//   fake.port; fake.requests (each {method, path, headers, body, json, at}); fake.events()
//   (every event of every parsed batch, in arrival order); fake.respond(503, 503, 200)
//   (statuses for the next batch requests, then 200 again; an entry may be
//   {status, headers}); fake.waitFor(pred, ms = 10000); fake.reset(); await fake.close();
//   fake.config: the workspace settings GET /v1/config answers (default both false; set to
//   {status, headers} for another answer); fake.configRequests (each {key, headers, at}).
//   Routes: GET /v1/config (CORS, like src/ingest/ingest_config.h), GET /sdk/dropfix.js (sdk/dist/dropfix.js, or the `sdk` option's file),
//   GET <page path> (text/html), GET|POST /api/* (a small JSON answer: the "app's API",
//   status from ?status=N, delay from ?delay=ms), POST /v1/batch, OPTIONS anything (counted:
//   the SDK must never cause a preflight).
// Listens on every loopback address (so a page on http://localhost:P can load the script
// and post to http://127.0.0.1:P cross-origin).
//
// Standalone (development): node tests/fakes/ingest-fake.mjs [--port P]; prints one JSON
// line per batch request.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export async function startIngestFake({ pages = {}, sdk = path.join(ROOT, 'sdk/dist/dropfix.js'), port = 0, onBatch = null } = {}) {
	const requests = [];
	const options = [];
	const configRequests = [];
	const state = { config: { consent_required: false, honor_dnt: false } };
	let script = [];
	const waiters = new Set();
	const notify = () => {
		for (const w of waiters) w();
	};

	const server = http.createServer((req, res) => {
		const url = new URL(req.url, 'http://x');
		const chunks = [];
		req.on('data', (c) => chunks.push(c));
		req.on('end', () => {
			const body = Buffer.concat(chunks).toString('utf8');
			const cors = { 'Access-Control-Allow-Origin': '*', 'Access-Control-Expose-Headers': 'Retry-After' };
			if (req.method === 'OPTIONS') {
				options.push({ path: url.pathname, headers: req.headers });
				res.writeHead(204, { ...cors, 'Access-Control-Allow-Methods': 'POST', 'Access-Control-Allow-Headers': '*' });
				return res.end();
			}
			if (req.method === 'POST' && url.pathname.replace(/\/$/, '') === '/v1/batch') {
				let json = null;
				try {
					json = JSON.parse(body);
				} catch {
					/* recorded as unparsable */
				}
				const r = { method: req.method, path: url.pathname, headers: req.headers, body, json, at: Date.now() };
				requests.push(r);
				if (onBatch) onBatch(r);
				const next = script.shift() ?? 200;
				const { status, headers = {} } = typeof next === 'number' ? { status: next } : next;
				r.status = status;
				notify();
				res.writeHead(status, { ...cors, ...headers, 'Content-Type': 'application/json' });
				return res.end(status === 200 ? JSON.stringify({ accepted: json?.batch?.length ?? 0, dropped: [] }) : '{"error":{"code":"scripted","message":"scripted answer"}}');
			}
			if (req.method === 'GET' && url.pathname === '/v1/config') {
				configRequests.push({ key: url.searchParams.get('key'), headers: req.headers, at: Date.now() });
				const c = state.config;
				if (c && typeof c.status === 'number') {
					res.writeHead(c.status, { ...cors, ...(c.headers || {}), 'Content-Type': 'application/json' });
					return res.end('{"error":{"code":"scripted","message":"scripted answer"}}');
				}
				res.writeHead(200, { ...cors, 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
				return res.end(JSON.stringify(c));
			}
			if (req.method === 'GET' && url.pathname === '/sdk/dropfix.js') {
				res.writeHead(200, { ...cors, 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'no-store' });
				return res.end(fs.readFileSync(sdk));
			}
			if (url.pathname.startsWith('/api/')) {
				const status = Number(url.searchParams.get('status') || 200);
				const delay = Number(url.searchParams.get('delay') || 0);
				return setTimeout(() => {
					res.writeHead(status, { 'Content-Type': 'application/json' });
					res.end('{"ok":true}');
				}, delay);
			}
			if (req.method === 'GET' && Object.hasOwn(pages, url.pathname)) {
				res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
				return res.end(pages[url.pathname]);
			}
			res.writeHead(404, { 'Content-Type': 'text/plain' });
			res.end('not found');
		});
	});
	await new Promise((resolve, reject) => {
		server.once('error', reject);
		server.listen(port, '::', resolve); // dual-stack: ::1, 127.0.0.1 and localhost
	});
	const actualPort = server.address().port;

	return {
		port: actualPort,
		requests,
		options,
		configRequests,
		get config() {
			return state.config;
		},
		set config(c) {
			state.config = c;
		},
		pages,
		events: () => requests.flatMap((r) => (Array.isArray(r.json?.batch) ? r.json.batch : [])),
		respond: (...statuses) => {
			script = statuses;
		},
		reset: () => {
			requests.length = 0;
			options.length = 0;
			script = [];
		},
		// Resolves once pred() is true (checked after each batch and every 50 ms); rejects
		// after ms with what arrived so far.
		waitFor(pred, ms = 10000) {
			return new Promise((resolve, reject) => {
				const check = () => {
					if (pred()) {
						cleanup();
						resolve();
					}
				};
				const iv = setInterval(check, 50);
				const to = setTimeout(() => {
					cleanup();
					reject(new Error(`ingest-fake: condition not met in ${ms} ms; events so far: ${JSON.stringify(this.events().map((e) => `${e.type}:${e.name}`))}`));
				}, ms);
				const cleanup = () => {
					clearInterval(iv);
					clearTimeout(to);
					waiters.delete(check);
				};
				waiters.add(check);
				check();
			});
		},
		close: () => new Promise((resolve) => {
			server.closeAllConnections?.();
			server.close(() => resolve());
		}),
	};
}

if (import.meta.url === `file://${process.argv[1]}`) {
	const i = process.argv.indexOf('--port');
	const fake = await startIngestFake({
		port: i > 0 ? Number(process.argv[i + 1]) : 0,
		onBatch: (r) => process.stdout.write(`${JSON.stringify({ headers: r.headers, json: r.json })}\n`),
	});
	process.stderr.write(`ingest-fake listening on http://127.0.0.1:${fake.port}\n`);
}

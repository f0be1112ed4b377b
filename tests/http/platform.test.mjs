// Platform: health, error shapes, security headers, request smuggling shapes, body
// limits, routing, metrics access, configuration errors.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { rawRequest, runBin, startServer, SECURITY_HEADERS, RELEASE_BIN } from './lib.mjs';

function assertSecurityHeaders(res) {
	for (const [k, v] of Object.entries(SECURITY_HEADERS)) assert.equal(res.headers[k], v, `header ${k}`);
	assert.match(res.headers['x-request-id'] || '', /^[0-9a-f]{16}$/);
}

describe('platform', () => {
	let srv;
	before(async () => { srv = await startServer(); });
	after(async () => {
		const { code } = await srv.stop();
		assert.equal(code, 0, srv.logs());
	});

	test('GET /healthz answers {"status":"ok"} with the security headers', async () => {
		const res = await fetch(`${srv.url}/healthz`);
		assert.equal(res.status, 200);
		assert.equal(await res.text(), '{"status":"ok"}');
		assertSecurityHeaders({ headers: Object.fromEntries(res.headers) });
		assert.equal(res.headers.get('cache-control'), 'no-store');
	});

	test('HEAD /healthz works and sends no body', async () => {
		const res = await rawRequest(srv.port, `HEAD /healthz HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\nConnection: close\r\n\r\n`);
		assert.equal(res.status, 200);
		assert.equal(res.body, '');
	});

	test('GET /readyz is ready and reports free disk', async () => {
		const res = await fetch(`${srv.url}/readyz`);
		assert.equal(res.status, 200);
		const body = await res.json();
		assert.equal(body.status, 'ready');
		assert.ok(body.free_disk_bytes > 0);
	});

	test('unknown path: 404 JSON error envelope with headers', async () => {
		const res = await fetch(`${srv.url}/no/such/thing`);
		assert.equal(res.status, 404);
		assert.match(res.headers.get('content-type'), /^application\/json/);
		const body = await res.json();
		assert.deepEqual(Object.keys(body), ['error']);
		assert.equal(body.error.code, 'not_found');
		assert.equal(typeof body.error.message, 'string');
		assertSecurityHeaders({ headers: Object.fromEntries(res.headers) });
	});

	test('unknown path for a browser: 404 HTML page with headers', async () => {
		const res = await fetch(`${srv.url}/no/such/thing`, { headers: { Accept: 'text/html,application/xhtml+xml' } });
		assert.equal(res.status, 404);
		assert.match(res.headers.get('content-type'), /^text\/html/);
		const html = await res.text();
		assert.match(html, /<!doctype html>/i);
		assert.match(html, /404/);
		assert.doesNotMatch(html, /<script/i);
		assertSecurityHeaders({ headers: Object.fromEntries(res.headers) });
	});

	test('wrong method: 405 with Allow', async () => {
		const res = await fetch(`${srv.url}/healthz`, { method: 'DELETE' });
		assert.equal(res.status, 405);
		assert.match(res.headers.get('allow'), /GET/);
		assert.equal((await res.json()).error.code, 'method_not_allowed');
	});

	test('trailing slash is the same route', async () => {
		const res = await fetch(`${srv.url}/healthz/`);
		assert.equal(res.status, 200);
	});

	const host = () => `Host: 127.0.0.1:${srv.port}\r\n`;
	const smuggling = [
		['two Content-Length headers', () => `POST /healthz HTTP/1.1\r\n${host()}Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd`],
		['Content-Length with Transfer-Encoding', () => `POST /healthz HTTP/1.1\r\n${host()}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`],
		['Transfer-Encoding other than chunked', () => `POST /healthz HTTP/1.1\r\n${host()}Transfer-Encoding: gzip\r\n\r\n`],
		['Transfer-Encoding list ending in chunked', () => `POST /healthz HTTP/1.1\r\n${host()}Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n`],
		['HTTP/1.1 without Host', () => `GET /healthz HTTP/1.1\r\n\r\n`],
		['two Host headers', () => `GET /healthz HTTP/1.1\r\n${host()}${host()}\r\n`],
		['Host that is not this installation', () => `GET /healthz HTTP/1.1\r\nHost: evil.example\r\n\r\n`],
	];
	for (const [name, req] of smuggling) {
		test(`smuggling shape refused with 400 and close: ${name}`, async () => {
			const res = await rawRequest(srv.port, req());
			assert.equal(res.status, 400, res.raw);
			assert.ok(res.closed, 'connection closed');
		});
	}

	test('smuggling refusals from our code carry the JSON envelope and headers', async () => {
		const res = await rawRequest(srv.port, `GET /healthz HTTP/1.1\r\nHost: evil.example\r\n\r\n`);
		assert.equal(res.status, 400);
		assert.equal(JSON.parse(res.body).error.code, 'bad_host');
		assertSecurityHeaders(res);
		assert.equal(res.headers.connection, 'close');
	});

	test('loopback names are accepted as Host in development', async () => {
		for (const h of [`localhost:${srv.port}`, `127.0.0.1:${srv.port}`, `[::1]:${srv.port}`]) {
			const res = await rawRequest(srv.port, `GET /healthz HTTP/1.1\r\nHost: ${h}\r\nConnection: close\r\n\r\n`);
			assert.equal(res.status, 200, h);
		}
	});

	test('declared body over the limit: 413 before the body is sent', async () => {
		// Headers only; the body never comes. The answer must arrive anyway.
		const res = await rawRequest(srv.port,
			`POST /no/such/route HTTP/1.1\r\n${host()}Content-Type: application/json\r\nContent-Length: 50000000\r\n\r\n`);
		assert.equal(res.status, 413);
		assert.equal(JSON.parse(res.body).error.code, 'payload_too_large');
		assertSecurityHeaders(res);
	});

	test('chunked body over the limit: 413', async () => {
		const chunk = 'x'.repeat(8192);
		const res = await rawRequest(srv.port,
			`POST /healthz HTTP/1.1\r\n${host()}Transfer-Encoding: chunked\r\n\r\n${chunk.length.toString(16)}\r\n${chunk}\r\n0\r\n\r\n`);
		assert.equal(res.status, 413);
	});

	test('metrics: Prometheus text from loopback', async () => {
		const res = await fetch(`${srv.url}/metrics`);
		assert.equal(res.status, 200);
		const text = await res.text();
		assert.match(text, /# TYPE dropfix_http_requests_total counter/);
		assert.match(text, /dropfix_http_requests_total\{route="\/healthz",code="2xx"\} \d+/);
		assert.doesNotMatch(text, /no\/such\/thing/, 'raw paths never become labels');
	});

	test('access log: JSON lines with route pattern, status, duration, request id; no raw path or query', async () => {
		await fetch(`${srv.url}/healthz?token=SECRET-TOKEN-123`);
		await fetch(`${srv.url}/not-a-route/SECRET-PATH-456`);
		await new Promise((r) => setTimeout(r, 100));
		const lines = srv.logs().split('\n').filter((l) => l.includes('"msg":"request"'));
		assert.ok(lines.length >= 2);
		for (const l of lines) {
			const o = JSON.parse(l);
			assert.ok('route' in o && 'status' in o && 'ms' in o && 'rid' in o, l);
		}
		assert.doesNotMatch(srv.logs(), /SECRET-TOKEN-123|SECRET-PATH-456/);
	});
});

describe('metrics access behind a proxy', () => {
	test('with trusted proxies: refused without the token, served with it', async () => {
		const srv = await startServer({ env: { DROPFIX_TRUSTED_PROXIES: '10.0.0.0/8', DROPFIX_METRICS_TOKEN: 'metrics-secret-token' } });
		try {
			let res = await fetch(`${srv.url}/metrics`);
			assert.equal(res.status, 403);
			res = await fetch(`${srv.url}/metrics`, { headers: { Authorization: 'Bearer wrong-token-wrong-token' } });
			assert.equal(res.status, 403);
			res = await fetch(`${srv.url}/metrics`, { headers: { Authorization: 'Bearer metrics-secret-token' } });
			assert.equal(res.status, 200);
		} finally {
			assert.equal((await srv.stop()).code, 0);
		}
	});
});

describe('configuration', () => {
	const cases = [
		['bad listen address', { DROPFIX_LISTEN: 'nonsense' }, /DROPFIX_LISTEN/],
		['port out of range', { DROPFIX_LISTEN: '127.0.0.1:70000' }, /DROPFIX_LISTEN/],
		['non-loopback without base URL', { DROPFIX_LISTEN: '0.0.0.0:8080' }, /DROPFIX_BASE_URL/],
		['bad base URL', { DROPFIX_BASE_URL: 'ftp://x' }, /DROPFIX_BASE_URL/],
		['bad signup mode', { DROPFIX_SIGNUP: 'everyone' }, /DROPFIX_SIGNUP/],
		['bad log level', { DROPFIX_LOG_LEVEL: 'loud' }, /DROPFIX_LOG_LEVEL/],
		['bad thread count', { DROPFIX_HTTP_THREADS: '0' }, /DROPFIX_HTTP_THREADS/],
		['bad trusted proxy', { DROPFIX_TRUSTED_PROXIES: '10.0.0.0/33' }, /DROPFIX_TRUSTED_PROXIES/],
		['TLS cert without key', { DROPFIX_TLS_CERT: '/tmp/x.pem' }, /DROPFIX_TLS/],
	];
	for (const [name, env, re] of cases) {
		test(`${name}: one line naming the setting, exit 2`, async () => {
			const r = await runBin(['serve'], { env });
			assert.equal(r.code, 2, r.stderr);
			assert.match(r.stderr, re);
			assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
		});
	}

	test('unknown flag: exit 2', async () => {
		const r = await runBin(['serve', '--no-such-flag']);
		assert.equal(r.code, 2);
		assert.match(r.stderr, /unknown option/);
	});

	test('every subcommand has --help', async () => {
		for (const cmd of ['serve', 'worker', 'migrate', 'keys', 'version', 'help', 'backup', 'restore']) {
			const r = await runBin([cmd, '--help']);
			assert.equal(r.code, 0, `${cmd}: ${r.stderr}`);
			assert.match(r.stdout, /usage: dropfix/, cmd);
		}
	});

	test('unknown command: exit 2', async () => {
		const r = await runBin(['frobnicate']);
		assert.equal(r.code, 2);
	});

	test('the release binary refuses DROPFIX_TEST_CLOCK_FILE', async () => {
		const r = await runBin(['serve'], { bin: RELEASE_BIN, env: { DROPFIX_TEST_CLOCK_FILE: '/tmp/clock' } });
		assert.equal(r.code, 2);
		assert.match(r.stderr, /DROPFIX_TEST_CLOCK_FILE.*release build/);
		const v = await runBin(['version'], { bin: RELEASE_BIN });
		assert.doesNotMatch(v.stdout, /test build/);
	});
});

describe('pages and static files', () => {
	let srv;
	before(async () => { srv = await startServer(); });
	after(async () => assert.equal((await srv.stop()).code, 0));

	test('the HTML error page uses the layout, links the stylesheet, has no inline script or style', async () => {
		const res = await fetch(`${srv.url}/nope`, { headers: { Accept: 'text/html' } });
		const html = await res.text();
		assert.match(html, /<title>404 Not Found · DropFix<\/title>/);
		assert.match(html, /<link rel="stylesheet" href="\/static\/app.css">/);
		assert.doesNotMatch(html, /<script|style=|<style/i);
	});

	test('the stylesheet is served with its type, an ETag and 304 on revalidation', async () => {
		const res = await fetch(`${srv.url}/static/app.css`);
		assert.equal(res.status, 200);
		assert.match(res.headers.get('content-type'), /^text\/css/);
		const etag = res.headers.get('etag');
		assert.match(etag, /^"[0-9a-f]{32}"$/);
		assert.match(await res.text(), /--accent/);
		const again = await fetch(`${srv.url}/static/app.css`, { headers: { 'If-None-Match': etag } });
		assert.equal(again.status, 304);
		assert.equal((await fetch(`${srv.url}/static/missing.css`)).status, 404);
		assert.equal((await fetch(`${srv.url}/static/..%2Fapp.css`)).status, 404);
	});
});

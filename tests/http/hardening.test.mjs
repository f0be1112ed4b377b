// JSON limits over real HTTP, client IP behind trusted proxies, the fake clock, native
// TLS versions, graceful shutdown under load.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort, rawRequest, sleep, startServer, tmpDir, RELEASE_BIN } from './lib.mjs';

const nest = (depth) => '['.repeat(depth) + ']'.repeat(depth);

describe('JSON bodies', () => {
	let srv;
	before(async () => { srv = await startServer(); });
	after(async () => assert.equal((await srv.stop()).code, 0));
	const post = (body) => fetch(`${srv.url}/__test/json`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });

	test('a well-formed document is accepted', async () => {
		const res = await post('{"a":1,"b":[1,2,{"c":"d"}]}');
		assert.equal(res.status, 200);
	});
	test('duplicate keys: 400 naming the key as a JSON Pointer', async () => {
		const res = await post('{"a":{"x":1,"x":2}}');
		assert.equal(res.status, 400);
		const { error } = await res.json();
		assert.equal(error.code, 'duplicate_key');
		assert.equal(error.field, '/a/x');
	});
	test('nesting exactly at our cap (16) loads; one deeper is refused naming the problem', async () => {
		assert.equal((await post(nest(16))).status, 200);
		const res = await post(nest(17));
		assert.equal(res.status, 400);
		const { error } = await res.json();
		assert.equal(error.code, 'too_deep');
		assert.match(error.message, /16/);
	});
	test('malformed JSON: 400 invalid_json', async () => {
		const res = await post('{"a":');
		assert.equal(res.status, 400);
		assert.equal((await res.json()).error.code, 'invalid_json');
	});
});

describe('client IP and clock (test build)', () => {
	test('X-Forwarded-For is ignored without trusted proxies', async () => {
		const srv = await startServer();
		try {
			const res = await fetch(`${srv.url}/__test/whoami`, { headers: { 'X-Forwarded-For': '203.0.113.9' } });
			assert.equal((await res.json()).client_ip, '127.0.0.1');
		} finally { await srv.stop(); }
	});
	test('behind a trusted proxy: the right-most address that is not a proxy', async () => {
		const srv = await startServer({ env: { DROPFIX_TRUSTED_PROXIES: '127.0.0.0/8, 10.0.0.0/8' } });
		try {
			const res = await fetch(`${srv.url}/__test/whoami`, { headers: { 'X-Forwarded-For': '198.51.100.7, 203.0.113.9, 10.1.2.3' } });
			assert.equal((await res.json()).client_ip, '203.0.113.9');
		} finally { await srv.stop(); }
	});
	test('the fake clock file drives the clock and can move', async () => {
		const dir = tmpDir();
		const clock = path.join(dir, 'clock');
		fs.writeFileSync(clock, '1700000000\n');
		const srv = await startServer({ env: { DROPFIX_TEST_CLOCK_FILE: clock } });
		try {
			let now = (await (await fetch(`${srv.url}/__test/whoami`)).json()).now_ms;
			assert.equal(now, 1700000000000);
			fs.writeFileSync(clock, '1700086400.5\n');
			now = (await (await fetch(`${srv.url}/__test/whoami`)).json()).now_ms;
			assert.equal(now, 1700086400500);
		} finally { await srv.stop(); }
	});
	test('the release binary has no test routes', async () => {
		const srv = await startServer({ bin: RELEASE_BIN });
		try {
			assert.equal((await fetch(`${srv.url}/__test/whoami`)).status, 404);
			assert.equal((await fetch(`${srv.url}/healthz`)).status, 200);
		} finally { assert.equal((await srv.stop()).code, 0); }
	});
});

// Runs openssl s_client; returns the negotiated protocol or null when the handshake failed.
function handshake(port, version) {
	let out;
	try {
		out = execFileSync('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, `-${version}`,
			'-cipher', 'DEFAULT@SECLEVEL=0', '-servername', 'localhost'], { input: '', timeout: 10000, stdio: ['pipe', 'pipe', 'pipe'] }).toString();
	} catch (e) {
		out = String(e.stdout || '');
	}
	// "New, <cipher's version>, Cipher is X"; the negotiated version is on "Protocol :"
	// when the session block is printed (TLS 1.2 and older), else it is the New line's.
	const cipher = out.match(/New, (\S+), Cipher is (\S+)/);
	const proto = out.match(/Protocol\s*: (TLSv[\d.]+)/);
	if (!cipher || cipher[2] === '(NONE)') return null;
	return proto ? proto[1] : cipher[1];
}

describe('native TLS', () => {
	let dir, cert, key;
	before(() => {
		dir = tmpDir();
		cert = path.join(dir, 'cert.pem');
		key = path.join(dir, 'key.pem');
		execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
			'-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost'], { stdio: 'ignore' });
	});

	test('positive control: this client can speak TLS 1.1 to a server that allows it', async () => {
		const port = await freePort();
		const s = spawn('openssl', ['s_server', '-accept', `127.0.0.1:${port}`, '-cert', cert, '-key', key,
			'-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0', '-www'], { stdio: 'ignore' });
		try {
			let got = null;
			for (let i = 0; i < 50 && !got; i++) { await sleep(100); got = handshake(port, 'tls1_1'); }
			assert.equal(got, 'TLSv1.1');
		} finally { s.kill(); }
	});

	test('dropfix refuses TLS 1.1 and accepts 1.2 and 1.3, with HSTS', async () => {
		const srv = await startServer({ env: { DROPFIX_TLS_CERT: cert, DROPFIX_TLS_KEY: key }, tls: true });
		try {
			assert.equal(handshake(srv.port, 'tls1_1'), null);
			assert.equal(handshake(srv.port, 'tls1_2'), 'TLSv1.2');
			assert.equal(handshake(srv.port, 'tls1_3'), 'TLSv1.3');
			const out = execFileSync('curl', ['-sk', '-D', '-', `https://127.0.0.1:${srv.port}/healthz`]).toString();
			assert.match(out, /Strict-Transport-Security: max-age=\d+/i);
			assert.match(out, /\{"status":"ok"\}/);
		} finally { assert.equal((await srv.stop()).code, 0); }
	});

	test('an unreadable certificate stops serve with a clear message', async () => {
		const { runBin } = await import('./lib.mjs');
		const r = await runBin(['serve'], { env: { DROPFIX_TLS_CERT: path.join(dir, 'missing.pem'), DROPFIX_TLS_KEY: key, DROPFIX_DATA_DIR: tmpDir() } });
		assert.equal(r.code, 1);
		assert.match(r.stderr, /missing\.pem/);
	});
});

describe('graceful shutdown', () => {
	test('SIGTERM under load: requests in flight complete, exit status 0', async () => {
		const srv = await startServer();
		const host = `Host: 127.0.0.1:${srv.port}\r\n`;
		// Slow requests already inside their handlers when the signal arrives.
		const slow = Array.from({ length: 4 }, () => rawRequest(srv.port,
			`POST /__test/slow?ms=1500 HTTP/1.1\r\n${host}Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`, { timeoutMs: 10000 }));
		// A steady stream of fast requests around the signal.
		let stop = false, okFast = 0, badFast = 0;
		const load = (async () => {
			while (!stop) {
				try {
					const r = await fetch(`${srv.url}/healthz`);
					if (r.status === 200 && (await r.text()) === '{"status":"ok"}') okFast++; else badFast++;
				} catch { break; } // refused once the listener closes: expected
			}
		})();
		await sleep(400);
		srv.child.kill('SIGTERM');
		const results = await Promise.all(slow);
		stop = true;
		await load;
		for (const r of results) {
			assert.equal(r.status, 200, r.raw);
			assert.equal(JSON.parse(r.body).ok, true);
		}
		assert.ok(okFast > 0);
		assert.equal(badFast, 0);
		const { code } = await srv.exited;
		assert.equal(code, 0, srv.logs());
		assert.match(srv.logs(), /"msg":"stopped"/);
	});
});

describe('slow bodies', () => {
	test('a body still arriving after the body deadline is cut off, never handled', async () => {
		const srv = await startServer({ env: { DROPFIX_TEST_BODY_DEADLINE_MS: '300' } });
		try {
			const net = await import('node:net');
			const result = await new Promise((resolve) => {
				const s = net.connect(srv.port, '127.0.0.1');
				let got = '';
				s.on('data', (d) => (got += d));
				s.on('close', () => resolve(got));
				s.on('error', () => {});
				s.write(`POST /__test/json HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n{"a":`);
				setTimeout(() => s.write('1'), 200);
				setTimeout(() => s.write('2'), 700); // past the deadline
				setTimeout(() => s.write('345}'), 900);
				setTimeout(() => s.destroy(), 5000);
			});
			assert.doesNotMatch(result, /HTTP\/1\.1 200/);
			const fast = await fetch(`${srv.url}/__test/json`, { method: 'POST', body: '{"a":12345}' });
			assert.equal(fast.status, 200, 'a prompt body is still fine');
		} finally { assert.equal((await srv.stop()).code, 0); }
	});
});

describe('deferred replies (suspended connections)', () => {
	test('many replies from another thread arrive, and shutdown waits for suspended ones', async () => {
		const srv = await startServer();
		const host = `Host: 127.0.0.1:${srv.port}\r\n`;
		const post = (ms) => rawRequest(srv.port,
			`POST /__test/deferred?ms=${ms} HTTP/1.1\r\n${host}Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`, { timeoutMs: 10000 });
		const many = await Promise.all(Array.from({ length: 40 }, (_, i) => post(i % 5)));
		for (const r of many) {
			assert.equal(r.status, 200, r.raw);
			assert.equal(JSON.parse(r.body).from, 'another thread');
			assert.equal(r.headers['x-content-type-options'], 'nosniff');
		}
		const late = post(1200);
		await sleep(300);
		srv.child.kill('SIGTERM');
		const r = await late;
		assert.equal(r.status, 200, r.raw);
		assert.equal((await srv.exited).code, 0, srv.logs());
	});
});

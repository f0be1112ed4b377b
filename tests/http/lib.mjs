// Helpers for black-box tests: start the real binary on a free loopback port with a
// fresh data directory, talk raw HTTP over sockets, stop it and collect its exit.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const BIN = process.env.DROPFIX_BIN || path.resolve('build/test/dropfix');
export const RELEASE_BIN = process.env.DROPFIX_RELEASE_BIN || path.resolve('build/dropfix');

export function tmpDir(prefix = 'dropfix-http-') {
	const base = process.env.DROPFIX_TEST_TMP || os.tmpdir();
	return fs.mkdtempSync(path.join(base, prefix));
}

export async function freePort() {
	return new Promise((resolve, reject) => {
		const srv = net.createServer();
		srv.unref();
		srv.on('error', reject);
		srv.listen(0, '127.0.0.1', () => {
			const { port } = srv.address();
			srv.close(() => resolve(port));
		});
	});
}

// Runs the binary to completion; resolves {code, stdout, stderr}.
// A run still going after timeoutMs is killed (so a regression fails instead of hanging).
export function runBin(args, { env = {}, bin = BIN, input, timeoutMs = 60000 } = {}) {
	return new Promise((resolve) => {
		const child = spawn(bin, args, { env: { ...cleanEnv(), ...env } });
		const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
		child.on('exit', () => clearTimeout(timer));
		let stdout = '', stderr = '';
		child.stdout.on('data', (d) => (stdout += d));
		child.stderr.on('data', (d) => (stderr += d));
		if (input !== undefined) child.stdin.end(input);
		else child.stdin.end();
		child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
	});
}

function cleanEnv() {
	const env = {};
	for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('DROPFIX_')) env[k] = v;
	env.ASAN_OPTIONS = process.env.ASAN_OPTIONS || 'detect_leaks=1';
	return env;
}

// Starts `dropfix serve`; resolves a handle with port, url, stop(), logs().
export async function startServer({ env = {}, args = [], bin = BIN, tls = false } = {}) {
	const port = await freePort();
	const dataDir = tmpDir('dropfix-data-');
	const child = spawn(bin, ['serve', ...args], {
		env: {
			...cleanEnv(),
			DROPFIX_LISTEN: `127.0.0.1:${port}`,
			DROPFIX_DATA_DIR: dataDir,
			DROPFIX_LOG_LEVEL: 'info',
			...env,
		},
		stdio: ['ignore', 'pipe', 'pipe'],
	});
	let out = '';
	child.stdout.on('data', (d) => (out += d));
	child.stderr.on('data', (d) => (out += d));
	const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
	const deadline = Date.now() + 20000;
	for (;;) {
		if (child.exitCode !== null) throw new Error(`server exited early (${child.exitCode}):\n${out}`);
		if (await canConnect(port)) break;
		if (Date.now() > deadline) throw new Error(`server did not start:\n${out}`);
		await sleep(50);
	}
	return {
		port,
		dataDir,
		child,
		url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
		logs: () => out,
		exited,
		async stop(signal = 'SIGTERM') {
			if (child.exitCode === null) child.kill(signal);
			return exited;
		},
	};
}

function canConnect(port) {
	return new Promise((resolve) => {
		const s = net.connect(port, '127.0.0.1');
		s.on('connect', () => { s.destroy(); resolve(true); });
		s.on('error', () => resolve(false));
	});
}

// The ingestion paths (src/http/routes.c): a 200 there acknowledges stored events whose
// aggregates (tracked users, user_daily, sessions) follow a few milliseconds later.
const INGEST_PATHS = /^\/(v1\/(batch|track|identify|page)|batch|capture|e|i\/v0\/e)\/?(\?|$)/;

// Waits until the server (a test build) has aggregated every event it acknowledged so far
// (POST /__test/ingest-flush answers once ingest_pending is empty): the deterministic
// read-your-writes step for tests that read users or aggregates after a 200.
export async function flushIngest(srv) {
	const res = await fetch(srv.url + '/__test/ingest-flush', { method: 'POST' });
	const text = await res.text();
	if (res.status !== 200) throw new Error(`ingest flush answered ${res.status}: ${text}`);
	return JSON.parse(text);
}

// POST to srv with full control over headers and body (an object is sent as JSON, a string
// or Buffer as is; content-type application/json unless headers say otherwise), on a
// fresh connection; resolves {status, headers, text, json} (json null when not JSON).
// After a 200 from an ingestion path it waits for the aggregation (flushIngest).
export async function postRaw(srv, path, body, headers = {}) {
	const r = await postOnce(srv, path, body, headers);
	if (r.status === 200 && INGEST_PATHS.test(path)) await flushIngest(srv);
	return r;
}

// postRaw without the aggregation wait (a server whose aggregation is expected to fail or
// to be held back).
export function postOnce(srv, path, body, headers = {}) {
	return new Promise((resolve, reject) => {
		const data = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
		const req = http.request(srv.url + path, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': data.length, ...headers } }, (res) => {
			const chunks = [];
			res.on('data', (d) => chunks.push(d));
			res.on('end', () => {
				const text = Buffer.concat(chunks).toString();
				let json = null;
				try { json = JSON.parse(text); } catch { /* not JSON */ }
				resolve({ status: res.statusCode, headers: res.headers, text, json });
			});
		});
		req.on('error', reject);
		req.end(data);
	});
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Sends raw bytes, resolves the parsed first response {status, headers, body, raw}
// and whether the server closed the connection.
export function rawRequest(port, data, { timeoutMs = 5000, holdOpen = false } = {}) {
	return new Promise((resolve, reject) => {
		const s = net.connect(port, '127.0.0.1');
		let raw = Buffer.alloc(0);
		let closed = false;
		const timer = setTimeout(() => { s.destroy(); finish(); }, timeoutMs);
		s.on('connect', () => { if (data) s.write(data); });
		s.on('data', (d) => {
			raw = Buffer.concat([raw, d]);
			const res = parseResponse(raw);
			if (res && res.complete && !holdOpen) { clearTimeout(timer); s.end(); setTimeout(() => { s.destroy(); finish(); }, 50); }
		});
		s.on('end', () => { closed = true; });
		s.on('close', () => { closed = true; clearTimeout(timer); finish(); });
		s.on('error', () => {});
		let done = false;
		function finish() {
			if (done) return;
			done = true;
			const res = parseResponse(raw);
			if (!res) return reject(new Error(`no HTTP response; got ${JSON.stringify(raw.toString())}`));
			res.closed = closed;
			resolve(res);
		}
	});
}

export function parseResponse(raw) {
	const text = raw.toString('latin1');
	const end = text.indexOf('\r\n\r\n');
	if (end < 0) return null;
	const lines = text.slice(0, end).split('\r\n');
	const status = Number(lines[0].split(' ')[1]);
	const headers = {};
	for (const l of lines.slice(1)) {
		const i = l.indexOf(':');
		headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
	}
	const body = raw.subarray(end + 4);
	const len = headers['content-length'] !== undefined ? Number(headers['content-length']) : null;
	return {
		status, headers, body: body.toString('utf8'), raw: text,
		complete: len === null ? false : body.length >= len,
	};
}

// The headers of ARCHITECTURE §5 every application response must carry.
export const SECURITY_HEADERS = {
	'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
	'x-content-type-options': 'nosniff',
	'referrer-policy': 'no-referrer',
};

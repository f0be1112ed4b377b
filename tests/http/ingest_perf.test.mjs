// Ingestion hot-path changes of issue 5's performance work (SQLite). The key cache
// (src/ingest/ingest_keycache.h, ARCHITECTURE §8b "Order and freshness"): a live key's lookup is cached for at most 1 s, so a key revoked
// behind the server's back (here: SQL from another process) answers 401 within that
// bound, and a key that becomes live works at once (unknown keys are never cached).
// Also DROPFIX_SQLITE_SYNCHRONOUS: NORMAL serves and stores, anything but FULL|NORMAL is
// refused at start. Stored properties text, both below and above the 1 KiB stack buffer
// that json_text in src/ingest/ingest.c tries first.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { flushIngest, runBin, sleep } from './lib.mjs';
import { account, installation, serve, workspace } from './wslib.mjs';

const BOUND_MS = 1000; // INGEST_KEYCACHE_TTL_MS

function sql(inst, q) {
	execFileSync('sqlite3', [inst.db, q]);
}

// A 200 is followed by the aggregation of its events (a write a few ms later): wait for it,
// so the SQL written behind the server's back does not meet a locked database.
async function post(srv, key, ev = { type: 'track', user_id: 'u-1', name: 'Ping' }) {
	const status = await postOnce(srv, key, ev);
	if (status === 200) await flushIngest(srv);
	return status;
}

function postOnce(srv, key, ev) {
	return new Promise((resolve, reject) => {
		const data = Buffer.from(JSON.stringify({ batch: [ev] }));
		const req = http.request(srv.url + '/v1/batch', { method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': data.length, authorization: `Bearer ${key}` } }, (res) => {
			res.resume();
			res.on('end', () => resolve(res.statusCode));
		});
		req.on('error', reject);
		req.end(data);
	});
}

describe('ingestion key cache (sqlite)', { concurrency: false }, () => {
	let inst, srv, ws;
	before(async () => {
		inst = await installation({ env: { DROPFIX_INGEST_BURST: '100000000' } });
		await account(inst, 'owner@example.test');
		ws = await workspace(inst, 'owner@example.test', 'Acme');
		srv = await serve(inst);
	});
	after(async () => {
		await srv?.stop();
		inst?.drop();
	});

	test('a revoked key stops within the bound; a key made live again works at once', async () => {
		for (let i = 0; i < 3; i++) assert.equal(await post(srv, ws.public_key), 200, 'live key (cached after the first)');
		sql(inst, `UPDATE workspace_keys SET revoked_at = 1 WHERE workspace_id = ${ws.id} AND kind = 'pk'`);
		const t0 = Date.now();
		let status = 200;
		while (status === 200 && Date.now() - t0 < BOUND_MS + 2000) {
			status = await post(srv, ws.public_key);
			if (status === 200) await sleep(50);
		}
		const took = Date.now() - t0;
		assert.equal(status, 401, 'the revoked key is refused');
		assert.ok(took <= BOUND_MS + 500, `refused after ${took} ms (bound ${BOUND_MS} ms + slack)`);
		// stays refused (the 401 was not cached as anything, and nothing re-filled the cache)
		assert.equal(await post(srv, ws.public_key), 401);
		sql(inst, `UPDATE workspace_keys SET revoked_at = NULL WHERE workspace_id = ${ws.id} AND kind = 'pk'`);
		assert.equal(await post(srv, ws.public_key), 200, 'live again: works on the very next request');
	});

	test('the secret key is cached separately and stops too', async () => {
		assert.equal(await post(srv, ws.secret_key), 200);
		sql(inst, `UPDATE workspace_keys SET revoked_at = 1 WHERE workspace_id = ${ws.id} AND kind = 'sk'`);
		await sleep(BOUND_MS + 100);
		assert.equal(await post(srv, ws.secret_key), 401, 'refused once the bound has passed');
		assert.equal(await post(srv, ws.public_key), 200, 'the public key is unaffected');
	});
});

describe('stored properties text', { concurrency: false }, () => {
	test('small and large properties are stored whole (1 KiB boundary of the stack buffer)', async () => {
		const inst = await installation({ env: { DROPFIX_INGEST_BURST: '100000000', DROPFIX_INGEST_MAX_STRING: '4096' } });
		let srv;
		try {
			await account(inst, 'owner@example.test');
			const ws = await workspace(inst, 'owner@example.test', 'Acme');
			srv = await serve(inst);
			// {"a":"…"} is 8 bytes + the string: 1015 → 1023 bytes, 1016 → 1024, 1017 → 1025, and 3000
			const sizes = [1, 1015, 1016, 1017, 3000];
			for (const [i, n] of sizes.entries()) {
				const props = { a: 'y'.repeat(n) };
				assert.equal(await post(srv, ws.public_key, { type: 'track', user_id: `u-${i}`, name: 'Big', properties: props }), 200);
			}
			const out = execFileSync('sqlite3', ['-cmd', '.timeout 5000', '-json', inst.db, `SELECT user_id, properties FROM events WHERE workspace_id = ${ws.id} ORDER BY id`]).toString();
			const got = JSON.parse(out);
			assert.equal(got.length, sizes.length);
			for (const [i, n] of sizes.entries()) {
				assert.equal(got[i].user_id, `u-${i}`);
				assert.equal(got[i].properties, JSON.stringify({ a: 'y'.repeat(n) }), `properties of ${n} characters`);
			}
		} finally {
			await srv?.stop();
			inst.drop();
		}
	});
});

describe('DROPFIX_SQLITE_SYNCHRONOUS', { concurrency: false }, () => {
	test('OFF is refused at start; NORMAL serves and stores', async () => {
		const inst = await installation({ env: { DROPFIX_INGEST_BURST: '100000000' } });
		let srv;
		try {
			await account(inst, 'owner@example.test');
			const ws = await workspace(inst, 'owner@example.test', 'Acme');
			const bad = await runBin(['serve'], { env: { ...inst.env, DROPFIX_SQLITE_SYNCHRONOUS: 'OFF' }, timeoutMs: 20000 });
			assert.notEqual(bad.code, 0);
			assert.equal(bad.signal, null, 'exited by itself');
			assert.match(bad.stderr, /DROPFIX_SQLITE_SYNCHRONOUS: expected FULL or NORMAL/);
			inst.env.DROPFIX_SQLITE_SYNCHRONOUS = 'NORMAL';
			srv = await serve(inst);
			assert.equal(await post(srv, ws.public_key), 200);
			const n = execFileSync('sqlite3', [inst.db, `SELECT count(*) FROM events WHERE workspace_id = ${ws.id}`]).toString().trim();
			assert.equal(n, '1');
		} finally {
			await srv?.stop();
			inst.drop();
		}
	});
});

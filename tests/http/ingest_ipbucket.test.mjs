// Per-IP sub-buckets inside a workspace's bucket (ARCHITECTURE §8b "Unauthenticated ingest
// work", src/ingest/ingest_rate.h): browser (pk_) traffic is also charged to a bucket per
// (workspace, client IP) with DROPFIX_INGEST_IP_RATE / DROPFIX_INGEST_IP_BURST, so one
// visitor flooding gets 429 + Retry-After while another visitor of the same workspace keeps
// getting 200; the founder's server (sk_) is not limited per IP. Client addresses come from
// X-Forwarded-For behind DROPFIX_TRUSTED_PROXIES (the test connects from 127.0.0.1).
// On the fake clock, which stands still unless advanced.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { postRaw } from './lib.mjs';
import { account, installation, serve, workspace } from './wslib.mjs';

const post = (srv, body, headers) => postRaw(srv, '/v1/batch', body, headers);

const batch = (key, n, name = 'flood') => ({ key, batch: Array.from({ length: n }, (_, i) => ({ type: 'track', anonymous_id: `a${i % 3}`, name })) });
const from = (ip) => ({ 'x-forwarded-for': ip });
const A = '203.0.113.7', B = '198.51.100.9';

describe('ingestion: per-IP sub-buckets inside a workspace bucket', { concurrency: false }, () => {
	let inst, srv, ws, other;
	before(async () => {
		inst = await installation({ env: { DROPFIX_TRUSTED_PROXIES: '127.0.0.0/8', DROPFIX_INGEST_IP_RATE: '5', DROPFIX_INGEST_IP_BURST: '50' } });
		await account(inst, 'owner@example.test');
		ws = await workspace(inst, 'owner@example.test', 'Shop');
		other = await workspace(inst, 'owner@example.test', 'Other');
		srv = await serve(inst);
	});
	after(async () => {
		await srv?.stop();
		inst?.drop();
	});

	test('one IP flooding with pk_ gets 429 + Retry-After; another IP on the same workspace keeps getting 200', async () => {
		assert.equal((await post(srv, batch(ws.public_key, 25), from(A))).status, 200);
		assert.equal((await post(srv, batch(ws.public_key, 25), from(A))).status, 200);
		let r = await post(srv, batch(ws.public_key, 10), from(A));
		assert.equal(r.status, 429, r.text);
		assert.equal(r.json.error.code, 'rate_limited');
		assert.equal(r.headers['retry-after'], '2', '10 events at 5/s from an empty sub-bucket');
		assert.equal(r.headers['access-control-allow-origin'], '*');
		r = await post(srv, batch(ws.public_key, 1), from(A));
		assert.equal(r.status, 429, 'still limited');
		// the SDK's settings request from that visitor costs a token of the same sub-bucket
		let cfg = await fetch(`${srv.url}/v1/config?key=${ws.public_key}`, { headers: from(A) });
		assert.equal(cfg.status, 429, await cfg.text());
		assert.equal(cfg.headers.get('retry-after'), '1');
		cfg = await fetch(`${srv.url}/v1/config?key=${ws.public_key}`, { headers: from('192.0.2.55') });
		assert.equal(cfg.status, 200, 'another visitor gets the settings');

		// another visitor of the same workspace: its own sub-bucket, and the workspace bucket
		// (20000 by default) was not used up by the refused requests
		for (let i = 0; i < 2; i++) {
			r = await post(srv, batch(ws.public_key, 25), from(B));
			assert.equal(r.status, 200, r.text);
		}
		// the same address on another workspace: a different sub-bucket
		r = await post(srv, batch(other.public_key, 25), from(A));
		assert.equal(r.status, 200, r.text);
		// the founder's server from the flooding address: sk_ is not limited per IP
		r = await post(srv, batch(ws.secret_key, 100, 'server'), from(A));
		assert.equal(r.status, 200, r.text);

		inst.advance(2400); // 12 tokens at 5/s
		r = await post(srv, batch(ws.public_key, 10, 'after'), from(A));
		assert.equal(r.status, 200, 'the sub-bucket refilled');

		const count = (where) => Number(execFileSync('sqlite3', ['-cmd', '.timeout 5000', inst.db, `SELECT count(*) FROM events WHERE ${where}`]).toString().trim());
		assert.equal(count(`workspace_id = ${ws.id}`), 50 + 50 + 100 + 10);
		// 2 tokens left after the 10 events: the settings request fits again
		assert.equal((await fetch(`${srv.url}/v1/config?key=${ws.public_key}`, { headers: from(A) })).status, 200);
		assert.equal(count(`workspace_id = ${other.id}`), 25);
	});

	test('the client address is not written to the log', async () => {
		assert.ok(!srv.logs().includes(A) && !srv.logs().includes(B), 'no client IP in the logs');
	});
});

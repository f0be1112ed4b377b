// The live feed (issue 5 item 8): GET /w/:ws/live renders the latest events (escaped)
// and GET /w/:ws/live/stream is a server-sent event stream of the workspace's newly
// committed events (type, name, user, time — no properties); members only; heartbeats;
// a per-workspace stream cap (503 + Retry-After); SIGTERM ends open streams cleanly.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { sleep } from './lib.mjs';
import { PG_SKIP, account, client, installation, postBatch, serve, workspace } from './wslib.mjs';

const XSS = '<script>alert(1)</script>"\'&';
const PING_MS = 300;

// Opens an SSE stream: {status, headers, text(), waitFor(re, ms), ended, close()}.
function openStream(srv, path, cookie) {
	return new Promise((resolve, reject) => {
		const req = http.get(srv.url + path, { headers: { accept: 'text/event-stream', ...(cookie ? { cookie } : {}) } }, (res) => {
			let buf = '';
			const waiters = [];
			let done = false;
			const ended = new Promise((r) => {
				res.on('end', () => { done = true; r('end'); });
				res.on('error', () => { done = true; r('error'); });
				res.on('close', () => { done = true; r('close'); });
			});
			res.setEncoding('utf8');
			res.on('data', (d) => {
				buf += d;
				for (const w of waiters.splice(0)) w();
			});
			const s = {
				status: res.statusCode,
				headers: res.headers,
				text: () => buf,
				ended,
				isDone: () => done,
				async waitFor(re, ms = 5000) {
					const deadline = Date.now() + ms;
					while (!re.test(buf)) {
						if (Date.now() > deadline) throw new Error(`timed out waiting for ${re}; got:\n${buf}`);
						await Promise.race([new Promise((r) => waiters.push(r)), sleep(50)]);
					}
				},
				close: () => { req.destroy(); },
			};
			resolve(s);
		});
		req.on('error', reject);
	});
}

function events(text) {
	return [...text.matchAll(/event: ev\ndata: (.*)\n\n/g)].map((m) => JSON.parse(m[1]));
}

for (const backend of ['sqlite', 'pg']) describe(`live feed (${backend})`, { skip: backend === 'pg' && PG_SKIP, concurrency: false }, () => {
	let inst, srv, ws, other, c, owner, stranger;
	const open = [];
	before(async () => {
		inst = await installation({ pg: backend === 'pg', env: { DROPFIX_TEST_LIVE_PING_MS: String(PING_MS) } });
		await account(inst, 'owner@example.test');
		await account(inst, 'stranger@example.test');
		ws = await workspace(inst, 'owner@example.test', 'Acme');
		other = await workspace(inst, 'stranger@example.test', 'Theirs');
		srv = await serve(inst);
		c = client(srv);
		owner = await c.session('owner@example.test');
		stranger = await c.session('stranger@example.test');
	});
	after(async () => {
		for (const s of open) s.close();
		await srv?.stop();
		inst?.drop();
	});

	test('a stream gets its workspace\'s committed events (no properties), not another\'s', async () => {
		const s = await openStream(srv, `/w/${ws.id}/live/stream`, owner.cookie);
		open.push(s);
		assert.equal(s.status, 200);
		assert.match(s.headers['content-type'], /^text\/event-stream/);
		assert.equal(s.headers['cache-control'], 'no-store');
		assert.equal(s.headers['x-accel-buffering'], 'no');
		assert.ok(s.headers['content-security-policy']);
		assert.equal(s.headers['x-content-type-options'], 'nosniff');
		await s.waitFor(/retry: 5000\n/);
		await postBatch(srv, other.secret_key, [{ type: 'track', user_id: 'theirs', name: 'their-event' }]);
		await postBatch(srv, ws.secret_key, [
			{ type: 'track', user_id: 'alice', name: 'Saved report', properties: { secret: 'prop-value-xyz' } },
			{ type: 'page', anonymous_id: 'anon-1', name: '/pricing' },
			{ type: 'track', user_id: 'alice', name: 'inject\n\nevent: bye\ndata: {}\n\n' },
		]);
		await s.waitFor(/inject/);
		const got = events(s.text());
		assert.equal(got.length, 3, s.text());
		assert.deepEqual(got.map((e) => [e.type, e.user]), [['track', 'alice'], ['page', null], ['track', 'alice']]);
		assert.deepEqual(got.slice(0, 2).map((e) => e.name), ['Saved report', '/pricing']);
		assert.ok(got[2].name.startsWith('inject'), 'a name with newlines stays inside one message');
		assert.ok(!/^event: bye/m.test(s.text()), 'no event injected through a name');
		assert.equal(typeof got[0].at, 'number');
		assert.ok(!s.text().includes('prop-value-xyz'), 'no property values on the feed');
		assert.ok(!s.text().includes('their-event'), 'another workspace\'s events are not sent');
		s.close();
	});

	test('non-members get 404; no session is refused', async () => {
		const s = await openStream(srv, `/w/${ws.id}/live/stream`, stranger.cookie);
		assert.equal(s.status, 404);
		s.close();
		const p = await c.as(stranger).get(`/w/${ws.id}/live`);
		assert.equal(p.status, 404);
		const anon = await openStream(srv, `/w/${ws.id}/live/stream`);
		assert.notEqual(anon.status, 200);
		anon.close();
	});

	test('heartbeats arrive', async () => {
		const s = await openStream(srv, `/w/${ws.id}/live/stream`, owner.cookie);
		assert.equal(s.status, 200);
		await s.waitFor(/: ping\n\n[\s\S]*: ping\n\n/, 5 * PING_MS + 3000);
		s.close();
	});

	test('per-workspace cap answers 503 + Retry-After; a gone client frees its slot', async () => {
		// earlier tests' closed streams are noticed by the heartbeat write failing
		const deadline = Date.now() + 10000;
		const mine = [];
		while (mine.length < 4) {
			const s = await openStream(srv, `/w/${ws.id}/live/stream`, owner.cookie);
			if (s.status === 200) mine.push(s);
			else {
				s.close();
				assert.ok(Date.now() < deadline, 'slots of closed streams were not freed');
				await sleep(200);
			}
		}
		const fifth = await openStream(srv, `/w/${ws.id}/live/stream`, owner.cookie);
		assert.equal(fifth.status, 503);
		assert.ok(Number(fifth.headers['retry-after']) > 0);
		fifth.close();
		// another workspace is not affected by this one's cap
		const theirs = await openStream(srv, `/w/${other.id}/live/stream`, stranger.cookie);
		assert.equal(theirs.status, 200);
		theirs.close();
		// a client that goes away: its slot comes back once a heartbeat write fails
		mine.pop().close();
		let again;
		const until = Date.now() + 10000;
		for (;;) {
			again = await openStream(srv, `/w/${ws.id}/live/stream`, owner.cookie);
			if (again.status === 200) break;
			again.close();
			assert.ok(Date.now() < until, 'the closed stream\'s slot was not freed');
			await sleep(200);
		}
		for (const s of [...mine, again]) s.close();
	});

	test('the page renders the latest events escaped, with the script and a no-JS note', async () => {
		await postBatch(srv, ws.secret_key, [{ type: 'track', user_id: XSS, name: XSS }]);
		let r;
		for (let i = 0; i < 50; i++) {
			r = await c.as(owner).get(`/w/${ws.id}/live`);
			if (r.text.includes('&lt;script&gt;alert(1)')) break;
			await sleep(100);
		}
		assert.equal(r.status, 200);
		assert.ok(!r.text.includes('<script>alert(1)'), 'event name and user id escaped');
		assert.ok(r.text.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
		assert.match(r.text, /<script src="\/static\/live\.js"><\/script>/);
		assert.ok(!/<script>/.test(r.text), 'no inline script');
		assert.match(r.text, /<noscript>/);
		assert.match(r.text, new RegExp(`data-stream="/w/${ws.id}/live/stream"`));
		assert.ok(r.text.includes('Saved report') && r.text.includes('/pricing'));
		assert.ok(!r.text.includes('their-event'));
		const items = [...r.text.matchAll(/<li><code class="live-type">/g)];
		assert.equal(items.length, 4);
		assert.ok(r.text.indexOf('&lt;script&gt;alert(1)') < r.text.indexOf('Saved report'), 'newest first');
		const js = await fetch(srv.url + '/static/live.js');
		assert.equal(js.status, 200);
		assert.match(js.headers.get('content-type'), /javascript/);
		const src = await js.text();
		assert.ok(!src.includes('innerHTML'), 'the script adds text, never HTML');
	});
});

describe('live feed stream age', () => {
	test('a stream ends after its age; a signed-out session cannot reopen it', async () => {
		const inst = await installation({ env: { DROPFIX_TEST_LIVE_PING_MS: '200', DROPFIX_TEST_LIVE_MAX_AGE_MS: '600' } });
		await account(inst, 'owner@example.test');
		const ws = await workspace(inst, 'owner@example.test', 'Acme');
		const srv = await serve(inst);
		try {
			const c = client(srv);
			const owner = await c.session('owner@example.test');
			const s = await openStream(srv, `/w/${ws.id}/live/stream`, owner.cookie);
			assert.equal(s.status, 200);
			const r = await c.as(owner).post('/auth/logout');
			assert.equal(r.status, 303, r.text);
			const t0 = Date.now();
			assert.equal(await Promise.race([s.ended, sleep(5000).then(() => 'timeout')]), 'end');
			assert.ok(Date.now() - t0 < 5000);
			const again = await openStream(srv, `/w/${ws.id}/live/stream`, owner.cookie);
			assert.notEqual(again.status, 200, 'the signed-out session is refused on reconnect');
			again.close();
		} finally {
			await srv.stop();
			inst.drop();
		}
	});
});

describe('live feed shutdown', () => {
	test('SIGTERM with open streams: each gets "bye", ends, and the server exits 0 promptly', async () => {
		const inst = await installation();
		await account(inst, 'owner@example.test');
		const ws = await workspace(inst, 'owner@example.test', 'Acme');
		const srv = await serve(inst);
		try {
			const owner = await client(srv).session('owner@example.test');
			const streams = [];
			for (let i = 0; i < 3; i++) {
				const s = await openStream(srv, `/w/${ws.id}/live/stream`, owner.cookie);
				assert.equal(s.status, 200);
				await s.waitFor(/retry: 5000/);
				streams.push(s);
			}
			const t0 = Date.now();
			srv.child.kill('SIGTERM');
			const ex = await srv.exited;
			assert.equal(ex.code, 0, srv.logs());
			assert.ok(Date.now() - t0 < 5000, `exit took ${Date.now() - t0} ms`);
			for (const s of streams) {
				assert.equal(await s.ended, 'end', 'the stream ended cleanly');
				assert.match(s.text(), /event: bye\n/);
			}
		} finally {
			await srv.stop();
			inst.drop();
		}
	});
});

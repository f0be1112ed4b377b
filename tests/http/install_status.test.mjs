// GET /api/v1/w/:ws/install/status (src/web/install_page.h), polled by the install page's
// live check: events counted up to a cap, first and last arrival times; members from
// viewer up; not a member → 404, no session → refused; read-only. The install page links
// the script and the endpoint and works without JavaScript ("check again" link).
// SQLite and PostgreSQL.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PG_SKIP, account, client, installation, join, serve, workspace } from './wslib.mjs';

for (const backend of ['sqlite', 'pg']) {
	describe(`install status (${backend})`, { skip: backend === 'pg' && PG_SKIP, concurrency: false }, () => {
		let inst, srv, c, owner, ws, other;
		before(async () => {
			inst = await installation({ pg: backend === 'pg' });
			await account(inst, 'owner@example.test');
			await account(inst, 'viewer@example.test');
			await account(inst, 'stranger@example.test');
			ws = await workspace(inst, 'owner@example.test', 'Shop');
			other = await workspace(inst, 'stranger@example.test', 'Elsewhere');
			srv = await serve(inst);
			c = client(srv);
			owner = await c.session('owner@example.test');
		});
		after(async () => {
			await srv?.stop();
			inst?.drop();
		});
		const status = async (who, id = ws.id) => {
			const r = await c.as(who).get(`/api/v1/w/${id}/install/status`);
			return { status: r.status, json: r.status === 200 ? JSON.parse(r.text) : null, text: r.text };
		};
		const post = (key, n, at) => fetch(`${srv.url}/v1/batch`, {
			method: 'POST',
			headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
			body: JSON.stringify({ batch: Array.from({ length: n }, (_, i) => ({ type: 'track', user_id: `u${i}`, name: 'e' })) }),
		});

		test('before any event: zero and nulls; the page shows the waiting text, the link and the script', async () => {
			const r = await status(owner);
			assert.equal(r.status, 200, r.text);
			assert.deepEqual(r.json, { events: 0, events_capped: false, first_event_at: null, last_event_at: null });
			const page = await c.as(owner).get(`/w/${ws.id}/install`);
			assert.equal(page.status, 200);
			assert.match(page.text, /Waiting for your first event/);
			assert.match(page.text, new RegExp(`<a href="/w/${ws.id}/install">check again</a>`));
			assert.match(page.text, new RegExp(`data-status-url="/api/v1/w/${ws.id}/install/status"`));
			assert.match(page.text, /<script src="\/static\/install-check.js"><\/script>/);
			const js = await fetch(`${srv.url}/static/install-check.js`);
			assert.equal(js.status, 200);
			assert.match(js.headers.get('content-type'), /javascript/);
		});

		test('after events: the count and the arrival times; the other workspace still at zero', async () => {
			const t0 = inst.now();
			assert.equal((await post(ws.secret_key, 3)).status, 200);
			inst.advance(60000);
			assert.equal((await post(ws.secret_key, 2)).status, 200);
			const r = await status(owner);
			assert.equal(r.json.events, 5);
			assert.equal(r.json.events_capped, false);
			assert.ok(Math.abs(Date.parse(r.json.first_event_at) - t0) < 1000, `${r.json.first_event_at} vs ${t0}`);
			assert.ok(Math.abs(Date.parse(r.json.last_event_at) - (t0 + 60000)) < 1000, `${r.json.last_event_at} vs ${t0 + 60000}`);
			const page = await c.as(owner).get(`/w/${ws.id}/install`);
			assert.match(page.text, /Events are arriving: the latest was received at/);
			const stranger = await c.session('stranger@example.test');
			assert.equal((await status(stranger, other.id)).json.events, 0, 'per workspace');
		});

		test('the count stops at its cap', async () => {
			for (let i = 0; i < 3; i++) assert.equal((await post(ws.secret_key, 400)).status, 200);
			const r = await status(owner);
			assert.deepEqual([r.json.events, r.json.events_capped], [1000, true]);
		});

		test('a viewer may read it; a non-member gets 404; no session is refused', async () => {
			const viewer = await join(inst, srv, c, owner, ws.id, 'viewer@example.test', 'viewer');
			assert.equal((await status(viewer)).status, 200);
			const stranger = await c.session('stranger@example.test');
			assert.equal((await status(stranger)).status, 404);
			const anon = await c.get(`/api/v1/w/${ws.id}/install/status`);
			assert.ok([401, 303].includes(anon.status), `no session: ${anon.status}`);
		});
	});
}

// The Users page GET /w/:ws/users (issue 5 item 8; SQLite and PostgreSQL): tracked users
// from real /v1/batch posts with sealed name and e-mail opened, plan and MRR from traits, first/last seen and event
// counts from the daily aggregates; most recently seen first, paginated; exact user id
// or e-mail search; XSS payloads in user ids and traits render as text; members only.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PG_SKIP, account, client, installation, mainText, postBatch, serve, workspace } from './wslib.mjs';

const iso = (ms) => new Date(ms).toISOString();
const XSS_ID = '<script>alert(1)</script>"\'&x';
const XSS_PLAN = '<img src=x onerror=alert(2)>';

for (const backend of ['sqlite', 'pg']) {
	describe(`users page (${backend})`, { skip: backend === 'pg' && PG_SKIP, concurrency: false }, () => {
		let inst, srv, ws, other, c, owner, stranger;
		before(async () => {
			inst = await installation({ pg: backend === 'pg' });
			await account(inst, 'owner@example.test');
			await account(inst, 'stranger@example.test');
			ws = await workspace(inst, 'owner@example.test', 'Acme');
			other = await workspace(inst, 'stranger@example.test', 'Theirs');
			srv = await serve(inst);
			c = client(srv);
			owner = await c.session('owner@example.test');
			stranger = await c.session('stranger@example.test');
			const now = inst.now();
			await postBatch(srv, ws.secret_key, [
				{ type: 'identify', user_id: 'alice', traits: { plan: 'pro', mrr: 49, email: 'alice@example.com', name: 'Alice A' }, timestamp: iso(now - 3 * 86400_000) },
				{ type: 'page', user_id: 'alice', name: '/home', timestamp: iso(now - 3 * 86400_000 + 1000) },
				{ type: 'page', user_id: 'alice', name: '/home', timestamp: iso(now - 2 * 86400_000) },
				{ type: 'click', user_id: 'alice', name: 'Save', timestamp: iso(now - 60_000) },
				{ type: 'identify', user_id: XSS_ID, traits: { plan: XSS_PLAN, mrr: '<b>9</b>', name: '<svg onload=alert(3)>', email: '"><i>x@example.com' }, timestamp: iso(now - 5 * 86400_000) },
			]);
			// through the public key: an unsigned e-mail (unverified)
			await postBatch(srv, ws.public_key, [{ type: 'identify', user_id: 'bob', traits: { plan: 'free', email: 'bob@example.com' }, timestamp: iso(now - 86400_000) }]);
			await postBatch(srv, other.secret_key, [{ type: 'identify', user_id: 'theirs-only', traits: { plan: 'secret-plan' } }]);
		});
		after(async () => {
			await srv?.stop();
			inst?.drop();
		});

		test('rows: id, name, e-mail, plan, MRR, first/last seen, events; newest first; XSS as text', async () => {
			const r = await c.as(owner).get(`/w/${ws.id}/users`);
			assert.equal(r.status, 200);
			assert.match(r.text, /<a[^>]+href="\/w\/\d+\/users"[^>]*>Users<\/a>|href="\/w\/\d+\/users"/, 'nav entry');
			assert.ok(!r.text.includes('<script>alert(1)'), 'user id escaped');
			assert.ok(!r.text.includes('<img src=x'), 'trait escaped');
			assert.ok(!r.text.includes('<b>9</b>'));
			assert.ok(r.text.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
			assert.ok(r.text.includes('&lt;img src=x onerror=alert(2)&gt;'));
			const cell = '<td(?: class="num")?>([\\s\\S]*?)<\\/td>';
			// id (linked to the user page), name, e-mail, plan, MRR, first/last seen, events, health, open signals
			const rows = [...r.text.matchAll(new RegExp(`<tr><td><a href="[^"]*"><code>([\\s\\S]*?)<\\/code><\\/a><\\/td>${cell.repeat(9)}<\\/tr>`, 'g'))];
			assert.equal(rows.length, 3);
			assert.equal(rows[0][1], 'alice');
			assert.equal(rows[0][2], 'Alice A', 'sealed name opened');
			assert.equal(rows[0][3], 'alice@example.com', 'sent with the secret key: verified');
			assert.equal(rows[1][1], 'bob');
			assert.equal(rows[1][3], 'bob@example.com <span class="muted">(unverified)</span>', 'unsigned e-mail marked');
			assert.equal(rows[0][4], 'pro');
			assert.equal(rows[0][5], '49');
			assert.equal(rows[0][6], iso(inst.now() - 3 * 86400_000).slice(0, 16).replace('T', ' ') + ' UTC');
			assert.equal(rows[0][7], iso(inst.now() - 60_000).slice(0, 16).replace('T', ' ') + ' UTC');
			assert.equal(rows[0][8], '4');
			assert.equal(rows[2][8], '1');
			assert.equal(rows[2][2], '&lt;svg onload=alert(3)&gt;');
			assert.ok(!r.text.includes('<svg onload') && !r.text.includes('<i>x@'), 'sealed XSS payloads escaped too');
			assert.ok(!r.text.includes('theirs-only') && !r.text.includes('secret-plan'), 'other workspace not shown');
		});

		test('search by exact user id or e-mail', async () => {
			let r = await c.as(owner).get(`/w/${ws.id}/users?q=${encodeURIComponent(XSS_ID)}`);
			assert.equal(r.status, 200);
			assert.ok(!r.text.includes('<script>alert(1)'));
			assert.ok(!r.text.includes('>alice<'));
			assert.match(r.text, /&lt;img src=x onerror=alert\(2\)&gt;/);
			r = await c.as(owner).get(`/w/${ws.id}/users?q=${encodeURIComponent(' ALICE@Example.com ')}`);
			assert.equal(r.status, 200);
			assert.match(r.text, /<tr><td><a href="\/w\/\d+\/users\/alice"><code>alice<\/code>/);
			assert.equal([...r.text.matchAll(/<tr><td><a href="[^"]*"><code>/g)].length, 1);
			r = await c.as(owner).get(`/w/${ws.id}/users?q=nobody@example.com`);
			assert.match(mainText(r.text), /No user with the id or e-mail “nobody@example.com”/);
			r = await c.as(owner).get(`/w/${ws.id}/users?q=ali`);
			assert.equal(r.status, 200);
			assert.match(mainText(r.text), /No user with the id or e-mail “ali”/);
			r = await c.as(owner).get(`/w/${ws.id}/users?q=theirs-only`);
			assert.ok(!r.text.includes('secret-plan'));
			r = await c.as(owner).get(`/w/${ws.id}/users?q=${'x'.repeat(300)}`);
			assert.equal(r.status, 400);
			r = await c.as(owner).get(`/w/${ws.id}/users?page=0`);
			assert.equal(r.status, 400);
		});

		test('pages of 100, most recently seen first', async () => {
			const now = inst.now();
			const batch = [];
			for (let i = 0; i < 150; i++) batch.push({ type: 'page', user_id: `bulk-${String(i).padStart(3, '0')}`, name: '/x', timestamp: iso(now - 10 * 86400_000 + i * 1000) });
			await postBatch(srv, ws.secret_key, batch);
			const ids = (html) => [...html.matchAll(/<tr><td><a href="[^"]*"><code>([^<]*)<\/code>/g)].map((m) => m[1]);
			const p1 = await c.as(owner).get(`/w/${ws.id}/users`);
			assert.equal(ids(p1.text).length, 100);
			assert.deepEqual(ids(p1.text).slice(0, 3), ['alice', 'bob', '&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;x']);
			assert.equal(ids(p1.text)[3], 'bulk-149');
			assert.match(p1.text, new RegExp(`href="/w/${ws.id}/users\\?page=2" rel="next"`));
			assert.doesNotMatch(p1.text, /rel="prev"/);
			const p2 = await c.as(owner).get(`/w/${ws.id}/users?page=2`);
			assert.equal(ids(p2.text).length, 53);
			assert.equal(ids(p2.text).at(-1), 'bulk-000');
			assert.match(p2.text, /rel="prev"/);
			assert.doesNotMatch(p2.text, /rel="next"/);
			assert.equal(new Set([...ids(p1.text), ...ids(p2.text)]).size, 153);
		});

		test('members only', async () => {
			const anon = await c.get(`/w/${ws.id}/users`);
			assert.notEqual(anon.status, 200);
			const r = await c.as(stranger).get(`/w/${ws.id}/users`);
			assert.notEqual(r.status, 200);
			assert.ok(!r.text.includes('alice'));
		});
	});
}

// The dashboard pages (issue 6 item 5; src/web/overview_page.c, users_page.c, user_page.c,
// signals_page.c, detect_settings_page.c) on SQLite and PostgreSQL: a workspace filled by
// `dropfix simulate` through /v1/batch plus users whose ids, event names, properties and
// traits carry XSS payloads, evaluated by `dropfix detect --full`; then each page as HTML
// and as JSON (/api/v1/w/:ws/…, same builder), sort/filter/search/pagination with 400 on
// bad parameters, user detail (chart, signals with evidence, sealed notes), dismiss with
// CSRF (state and audit), detection settings, roles (a viewer reads everything, every
// POST 403), other workspaces' ids 404, a workspace still learning shows the countdown.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { startServer } from './lib.mjs';
import { PG_SKIP, account, auditRows, client, installation, join, mainText, postBatch, serve, simulateVia, workspace } from './wslib.mjs';

const iso = (ms) => new Date(ms).toISOString();
// percent-encoding as the server writes links (every byte but A-Z a-z 0-9 - . _ ~)
const enc = (s) => encodeURIComponent(s).replace(/[!'()*]/g, (ch) => '%' + ch.charCodeAt(0).toString(16).toUpperCase());
const DAY = 86400_000;
const XSS = ['<script>alert(1)</script>', '"><img src=x onerror=alert(1)>'];
const XSS_USER = `x<script>alert(1)</script>`; // holds a '/': reached as /users/-?id=
const XSS_USER2 = `"><img src=x onerror=alert(1)>`;

// No payload appears as markup: every '<script' / '<img' in the page is ours (none).
function assertInert(html, where) {
	assert.ok(!/<script(?![^>]*\bsrc="\/static\/)/i.test(html.replace(/<script src="\/static\/[^"]+"[^>]*><\/script>/g, '')), `${where}: a raw <script>`);
	assert.ok(!/<img/i.test(html), `${where}: a raw <img>`);
	assert.ok(!/onerror=alert/.test(html.replace(/&quot;&gt;&lt;img src=x onerror=alert\(1\)&gt;/g, '').replace(/%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E/g, '')), `${where}: onerror outside escaped text`);
	assert.ok(!/ style=/i.test(html), `${where}: a style attribute`);
}

const api = (c, s, p) => c.as(s).get(`/api/v1${p}`, { headers: { accept: 'application/json' } });
const json = (r) => {
	assert.equal(r.headers.get('content-type')?.split(';')[0], 'application/json', r.text.slice(0, 300));
	return JSON.parse(r.text);
};

for (const backend of ['sqlite', 'pg']) {
	describe(`dashboard pages (${backend})`, { skip: backend === 'pg' && PG_SKIP, concurrency: false }, () => {
		let inst, srv, c, ws, other, young, owner, member, viewer, stranger;
		before(async () => {
			inst = await installation({ pg: backend === 'pg' });
			for (const e of ['owner', 'member', 'viewer', 'stranger']) await account(inst, `${e}@example.test`);
			ws = await workspace(inst, 'owner@example.test', 'Acme');
			other = await workspace(inst, 'stranger@example.test', 'Theirs');
			young = await workspace(inst, 'owner@example.test', 'Young');
			srv = await serve(inst);
			c = client(srv);
			owner = await c.session('owner@example.test');
			stranger = await c.session('stranger@example.test');
			const seen = new Set();
			member = await join(inst, srv, c, owner, ws.id, 'member@example.test', 'member', seen);
			viewer = await join(inst, srv, c, owner, ws.id, 'viewer@example.test', 'viewer', seen);
			await simulateVia(inst, srv, ws, ['--users', '14', '--days', '30', '--seed', '5']);
			const now = inst.now();
			// users with payloads everywhere: ids, traits, event names and properties; a cancel page
			const evil = [];
			for (const [i, id] of [XSS_USER, XSS_USER2].entries()) {
				evil.push({ type: 'identify', user_id: id, traits: { plan: XSS[0], mrr: 99, name: XSS[1], email: `evil${i}@example.com`, note: XSS[0] }, timestamp: iso(now - 20 * DAY) });
				for (let d = 20; d >= 1; d--) evil.push({ type: 'track', user_id: id, name: XSS[i], properties: { p: XSS[1 - i] }, timestamp: iso(now - d * DAY) });
				evil.push({ type: 'page', user_id: id, name: '/settings/billing/cancel', properties: { q: XSS[0] }, timestamp: iso(now - 3600_000) });
			}
			await postBatch(srv, ws.secret_key, evil);
			await postBatch(srv, other.secret_key, [{ type: 'identify', user_id: 'theirs-only', traits: { plan: 'secret-plan' } }]);
			await postBatch(srv, young.secret_key, [{ type: 'identify', user_id: 'newbie', traits: { plan: 'pro' }, timestamp: iso(now - 2 * DAY) }]);
			for (const w of [ws, other, young]) await inst.ok(['detect', '--workspace', String(w.id), '--full']);
		});
		after(async () => {
			const end = await srv?.stop();
			inst?.drop();
			// the ASan/UBSan build reports leaks and undefined behaviour at exit
			if (end) assert.equal(end.code, 0, srv.logs().slice(-4000));
			if (srv) assert.doesNotMatch(srv.logs(), /Sanitizer|runtime error/);
		});

		test('overview: bands, MRR at risk, top three to save, signal counts, trends; JSON from the same builder', async () => {
			const r = await c.as(owner).get(`/w/${ws.id}`);
			assert.equal(r.status, 200);
			assertInert(r.text, 'overview');
			const o = json(await api(c, owner, `/w/${ws.id}/overview`));
			assert.equal(o.learning.locked, false);
			assert.ok(o.bands.total >= 16, JSON.stringify(o.bands));
			assert.equal(o.bands.total, o.bands.healthy + o.bands.watch + o.bands.at_risk);
			assert.ok(o.bands.watch + o.bands.at_risk > 0, 'someone is at risk');
			assert.ok(o.top.length > 0 && o.top.length <= 3);
			for (let i = 1; i < o.top.length; i++) assert.ok(o.top[i - 1].worth >= o.top[i].worth, 'ranked by worth');
			assert.equal(o.signal_counts.length, 10);
			assert.equal(o.open_signals, o.signal_counts.reduce((a, k) => a + k.count, 0));
			assert.ok(o.open_signals > 0);
			assert.equal(o.currency, 'USD');
			assert.match(o.mrr_at_risk_text, /^USD [\d,]+$/);
			assert.ok(o.trend.length >= 1, 'the full pass wrote a trend point');
			// the page shows the same numbers and the charts as inline SVG with titles
			const main = mainText(r.text);
			assert.match(main, new RegExp(`${o.bands.healthy} healthy · ${o.bands.watch} watch · ${o.bands.at_risk} at risk`));
			assert.ok(main.includes(o.mrr_at_risk_text));
			for (const t of o.top) assert.ok(r.text.includes(`href="${t.href.replace(/&/g, '&amp;')}"`), `link to ${t.user_id}`);
			assert.match(r.text, /<svg [^>]*role="img" aria-labelledby="bands-t bands-d"/);
			assert.match(r.text, /<title id="kinds-t">Open signals by kind<\/title>/);
			assert.match(r.text, /<title id="risk30-t">At-risk users, last 30 days<\/title>/);
			assert.match(r.text, /<title id="mrr90-t">MRR at risk, last 90 days<\/title>/);
			for (const label of ['Overview', 'Users', 'Signals', 'Detection']) assert.match(r.text, new RegExp(`<a href="/w/${ws.id}[^"]*"[^>]*>${label}</a>`), `nav ${label}`);
		});

		test('overview while learning: the countdown and a progress bar', async () => {
			const r = await c.as(owner).get(`/w/${young.id}`);
			assert.equal(r.status, 200);
			assert.match(mainText(r.text), /Signals unlock in 5 days/);
			assert.match(r.text, /<title id="learn-t">Learning progress<\/title>/);
			assert.match(r.text, />2 of 7 days<\/text>/);
			const o = json(await api(c, owner, `/w/${young.id}/overview`));
			assert.deepEqual([o.learning.locked, o.learning.days_done, o.learning.days_left], [true, 2, 5]);
		});

		test('users list: sort, filters, search, 400 naming a bad parameter, JSON', async () => {
			let r = await c.as(owner).get(`/w/${ws.id}/users`);
			assert.equal(r.status, 200);
			assertInert(r.text, 'users');
			const all = json(await api(c, owner, `/w/${ws.id}/users`));
			assert.equal(all.users.length, 16);
			assert.equal(all.has_next, false);
			for (let i = 1; i < all.users.length; i++) assert.ok(all.users[i - 1].last_seen >= all.users[i].last_seen, 'newest first');
			const byHealth = json(await api(c, owner, `/w/${ws.id}/users?sort=health`)).users;
			assert.equal(byHealth.length, 16);
			for (let i = 1; i < byHealth.length; i++) assert.ok(byHealth[i - 1].health <= byHealth[i].health, 'lowest health first');
			const byMrr = json(await api(c, owner, `/w/${ws.id}/users?sort=mrr`)).users;
			assert.equal(byMrr.length, 16);
			const bySig = json(await api(c, owner, `/w/${ws.id}/users?sort=signals`)).users;
			for (let i = 1; i < bySig.length; i++) assert.ok(bySig[i - 1].open_signals >= bySig[i].open_signals);
			for (const s of ['worth', 'plan']) assert.equal(json(await api(c, owner, `/w/${ws.id}/users?sort=${s}`)).users.length, 16, s);
			// band filter
			const risky = byHealth.filter((u) => u.band !== 'healthy').length;
			const watch = json(await api(c, owner, `/w/${ws.id}/users?band=watch`)).users;
			const atRisk = json(await api(c, owner, `/w/${ws.id}/users?band=at_risk&sort=health`)).users;
			assert.equal(watch.length + atRisk.length, risky);
			assert.ok(watch.every((u) => u.band === 'watch') && atRisk.every((u) => u.band === 'at_risk'));
			// kind filter: the cancel page of the payload users
			const cancel = json(await api(c, owner, `/w/${ws.id}/users?kind=cancel_intent`)).users;
			assert.ok(cancel.some((u) => u.id === XSS_USER), JSON.stringify(cancel.map((u) => u.id)));
			assert.ok(cancel.every((u) => u.kinds.some((k) => k.kind === 'cancel_intent')));
			// plan filter (exact)
			const pro = json(await api(c, owner, `/w/${ws.id}/users?plan=${encodeURIComponent(XSS[0])}`)).users;
			assert.deepEqual(pro.map((u) => u.id).sort(), [XSS_USER2, XSS_USER].sort());
			r = await c.as(owner).get(`/w/${ws.id}/users?band=watch&sort=health`);
			assert.equal(r.status, 200);
			assert.match(r.text, /<option value="watch" selected>Watch<\/option>/);
			assert.match(r.text, /<option value="health" selected>/);
			// search by id, by e-mail
			let q = json(await api(c, owner, `/w/${ws.id}/users?q=${encodeURIComponent(XSS_USER)}`));
			assert.deepEqual(q.users.map((u) => u.id), [XSS_USER]);
			q = json(await api(c, owner, `/w/${ws.id}/users?q=EVIL1@example.com`));
			assert.deepEqual(q.users.map((u) => u.id), [XSS_USER2]);
			assert.equal(q.users[0].name, XSS[1], 'sealed name opened');
			// bad parameters: 400 naming the parameter (page and JSON)
			for (const [p, name] of [['sort=bogus', 'sort'], ['band=red', 'band'], ['kind=nope', 'kind'], ['page=0', 'page'], [`plan=${'p'.repeat(65)}`, 'plan'], [`q=${'x'.repeat(300)}`, 'q']]) {
				const j = await api(c, owner, `/w/${ws.id}/users?${p}`);
				assert.equal(j.status, 400, p);
				assert.equal(JSON.parse(j.text).error.field, `/${name}`, p);
				const h = await c.as(owner).get(`/w/${ws.id}/users?${p}`, { headers: { accept: 'text/html' } });
				assert.equal(h.status, 400, p);
				assert.match(mainText(h.text), new RegExp(name), p);
			}
			// other workspaces' users never appear
			assert.equal(json(await api(c, owner, `/w/${ws.id}/users?q=theirs-only`)).users.length, 0);
		});

		test('users list pages of 100 keep sort and filters in the links', async () => {
			const now = inst.now();
			const batch = [];
			for (let i = 0; i < 120; i++) batch.push({ type: 'identify', user_id: `bulk-${String(i).padStart(3, '0')}`, traits: { plan: 'bulk' }, timestamp: iso(now - 40 * DAY + i * 1000) });
			await postBatch(srv, ws.secret_key, batch);
			await inst.ok(['detect', '--workspace', String(ws.id), '--full']);
			const p1 = json(await api(c, owner, `/w/${ws.id}/users?sort=plan&plan=bulk`));
			assert.equal(p1.users.length, 100);
			assert.equal(p1.has_next, true);
			assert.equal(p1.pager.next, `/w/${ws.id}/users?sort=plan&plan=bulk&page=2`);
			const p2 = json(await api(c, owner, `/w/${ws.id}/users?sort=plan&plan=bulk&page=2`));
			assert.equal(p2.users.length, 20);
			assert.equal(new Set([...p1.users, ...p2.users].map((u) => u.id)).size, 120);
			const h = await c.as(owner).get(`/w/${ws.id}/users?sort=plan&plan=bulk`);
			assert.ok(h.text.includes(`href="/w/${ws.id}/users?sort=plan&amp;plan=bulk&amp;page=2" rel="next"`));
		});

		test('users list: filtered sets sorted whole (small) and walked on a sort index (large) give the same rows', async () => {
			// a second server on the same database that never takes the small-set statements
			const walk = await startServer({ env: { ...inst.env, DROPFIX_TEST_USERS_SMALL_SET: '-1' } });
			try {
				const cw = client(walk);
				const filters = ['band=watch', 'band=at_risk', 'band=healthy', 'kind=cancel_intent', 'kind=gone_quiet', 'kind=usage_drop', `plan=${encodeURIComponent(XSS[0])}`, 'plan=bulk', 'plan=bulk&page=2', 'band=watch&kind=usage_drop', 'band=at_risk&plan=bulk'];
				let compared = 0;
				for (const f of filters) {
					for (const sort of ['last_seen', 'health', 'worth', 'mrr', 'plan', 'signals']) {
						const p = `/api/v1/w/${ws.id}/users?sort=${sort}&${f}`;
						const a = json(await c.as(owner).get(p, { headers: { accept: 'application/json' } }));
						const b = json(await cw.as(owner).get(p, { headers: { accept: 'application/json' } }));
						assert.deepEqual(a.users.map((u) => u.id), b.users.map((u) => u.id), p);
						assert.equal(a.has_next, b.has_next, p);
						compared += a.users.length;
					}
				}
				assert.ok(compared > 500, `rows compared: ${compared}`);
			} finally {
				const end = await walk.stop();
				assert.equal(end.code, 0, walk.logs().slice(-3000));
			}
		});

		test('user detail: profile, health parts, activity chart against baseline, signals with evidence, events, traits; JSON', async () => {
			const o = json(await api(c, owner, `/w/${ws.id}/overview`));
			const top = o.top[0];
			const r = await c.as(owner).get(top.href);
			assert.equal(r.status, 200);
			assertInert(r.text, 'user');
			const u = json(await api(c, owner, top.href));
			assert.equal(u.user.id, top.user_id);
			assert.equal(u.health.score, top.health);
			assert.ok(u.health.parts.length >= 2);
			assert.equal(u.activity.days.length, 35);
			assert.ok(u.signals.some((s) => s.open && s.evidence.length > 10), JSON.stringify(u.signals));
			assert.ok(u.events.length > 0 && u.events.length <= 100);
			assert.match(r.text, /<title id="activity-t">Activity, last 35 days<\/title>/);
			const open = u.signals.find((s) => s.open);
			assert.ok(mainText(r.text).includes(open.evidence), 'evidence on the page');
			assert.ok(r.text.includes(`action="/w/${ws.id}/signals/${open.id}/dismiss"`), 'dismiss form for the owner');
			// the payload users: reachable, everything escaped
			for (const id of [XSS_USER, XSS_USER2]) {
				const href = `/w/${ws.id}/users/` + (id.includes('/') ? `-?id=${encodeURIComponent(id)}` : encodeURIComponent(id));
				const p = await c.as(owner).get(href);
				assert.equal(p.status, 200, href);
				assertInert(p.text, `user ${id}`);
				const j = json(await api(c, owner, href));
				assert.equal(j.user.id, id);
				assert.equal(j.user.plan, XSS[0]);
				assert.ok(j.events.some((e) => XSS.includes(e.name) && e.properties.includes('onerror') | e.properties.includes('script')));
				assert.ok(j.signals.some((s) => s.kind === 'cancel_intent'), `${id}: cancel intent`);
				assert.ok(p.text.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
			}
			// unknown, other workspace's, not a member
			for (const p of ['/users/nobody', '/users/theirs-only', '/users/-?id=']) {
				assert.equal((await c.as(owner).get(`/w/${ws.id}${p}`)).status, 404, p);
				assert.equal((await api(c, owner, `/w/${ws.id}${p}`)).status, 404, p);
			}
			assert.equal((await c.as(stranger).get(top.href)).status, 404);
			assert.equal((await api(c, stranger, top.href)).status, 404);
		});

		test('notes: sealed, escaped, audited without the body; members only', async () => {
			const href = `/w/${ws.id}/users/${enc(XSS_USER2)}`;
			const body = `call them ${XSS[0]} ${XSS[1]}`;
			let r = await c.as(member).post(`${href}/notes`, { body });
			assert.equal(r.status, 303, r.text.slice(0, 300));
			assert.equal(r.location, `${href}#notes`);
			r = await c.as(viewer).get(href);
			assert.equal(r.status, 200);
			assertInert(r.text, 'notes');
			assert.ok(mainText(r.text).includes(body), 'the note, as text');
			assert.ok(!r.text.includes('action="' + href + '/notes"'), 'no note form for a viewer');
			const j = json(await api(c, viewer, href));
			assert.equal(j.notes[0].body, body);
			assert.equal(j.notes[0].author, 'member');
			// JSON route with the CSRF header
			let a = await c.request('POST', `/api/v1${href}/notes`, { cookie: member.cookie, json: { body: 'second' }, headers: { 'x-csrf-token': member.csrf } });
			assert.equal(a.status, 201, a.text);
			assert.ok(JSON.parse(a.text).id > 0);
			a = await c.request('POST', `/api/v1${href}/notes`, { cookie: member.cookie, json: { body: 'x'.repeat(2001) }, headers: { 'x-csrf-token': member.csrf } });
			assert.equal(a.status, 400);
			a = await c.request('POST', `/api/v1${href}/notes`, { cookie: member.cookie, json: { body: 'no token' } });
			assert.equal(a.status, 403, 'CSRF');
			assert.equal((await c.as(member).post(`${href}/notes`, { body: '' })).status, 400);
			assert.equal((await c.as(member).post(`/w/${ws.id}/users/nobody/notes`, { body: 'x' })).status, 404);
			assert.equal((await c.as(viewer).post(`${href}/notes`, { body: 'viewer' })).status, 403);
			assert.equal((await c.as(stranger).post(`${href}/notes`, { body: 'stranger' })).status, 404);
			if (backend === 'sqlite') {
				const rows = execFileSync('sqlite3', ['-cmd', '.timeout 5000', inst.db, `SELECT body_sealed FROM user_notes WHERE workspace_id = ${ws.id}`]).toString();
				assert.match(rows, /^s1\./m);
				assert.ok(!rows.includes('call them') && !rows.includes('second'), 'stored sealed');
			}
			const audit = (await auditRows(inst, ws.id)).filter((e) => e.action === 'note.added');
			assert.equal(audit.length, 2);
			assert.equal(audit[0].target, XSS_USER2);
			assert.ok(!JSON.stringify(audit).includes('call them') && !JSON.stringify(audit).includes('second'), 'no body in the audit log');
		});

		test('signals page: filters, 400 on bad values, dismiss with CSRF → dismissed + audited; JSON dismiss', async () => {
			let r = await c.as(viewer).get(`/w/${ws.id}/signals`);
			assert.equal(r.status, 200);
			assertInert(r.text, 'signals');
			assert.ok(!r.text.includes('/dismiss"'), 'no dismiss forms for a viewer');
			const open = json(await api(c, owner, `/w/${ws.id}/signals`));
			assert.equal(open.state, 'open');
			assert.ok(open.signals.length > 0 && open.signals.every((s) => s.state === 'open' && s.evidence.length > 0));
			const cancel = json(await api(c, owner, `/w/${ws.id}/signals?kind=cancel_intent`)).signals;
			assert.ok(cancel.length >= 2 && cancel.every((s) => s.kind === 'cancel_intent'));
			for (const [p, name] of [['state=gone', 'state'], ['kind=x', 'kind'], ['page=-1', 'page']]) {
				const j = await api(c, owner, `/w/${ws.id}/signals?${p}`);
				assert.equal(j.status, 400, p);
				assert.equal(JSON.parse(j.text).error.field, `/${name}`);
			}
			// dismiss through the form as a member, with a reason carrying a payload
			const target = cancel.find((s) => s.user_id === XSS_USER);
			r = await c.as(member).get(`/w/${ws.id}/signals?kind=cancel_intent`);
			assert.ok(r.text.includes(`action="/w/${ws.id}/signals/${target.id}/dismiss"`));
			const noCsrf = await c.request('POST', `/w/${ws.id}/signals/${target.id}/dismiss`, { cookie: member.cookie, form: { reason: 'x' } });
			assert.equal(noCsrf.status, 403);
			assert.equal((await c.as(viewer).post(`/w/${ws.id}/signals/${target.id}/dismiss`, { reason: 'x' })).status, 403);
			r = await c.as(member).post(`/w/${ws.id}/signals/${target.id}/dismiss`, { reason: XSS[1], next: `/w/${ws.id}/users` });
			assert.equal(r.status, 303);
			assert.equal(r.location, `/w/${ws.id}/users`);
			const dismissed = json(await api(c, owner, `/w/${ws.id}/signals?state=dismissed`)).signals;
			const d = dismissed.find((s) => s.id === target.id);
			assert.ok(d, 'listed as dismissed');
			assert.equal(d.dismiss_reason, XSS[1]);
			r = await c.as(owner).get(`/w/${ws.id}/signals?state=dismissed`);
			assertInert(r.text, 'dismissed signals');
			// again: no longer open
			assert.equal((await c.as(member).post(`/w/${ws.id}/signals/${target.id}/dismiss`, {})).status, 404);
			// a foreign return path is not followed
			const t2 = cancel.find((s) => s.user_id === XSS_USER2);
			r = await c.as(member).post(`/w/${ws.id}/signals/${t2.id}/dismiss`, { next: '//evil.example/' });
			assert.equal(r.status, 303);
			assert.equal(r.location, `/w/${ws.id}/signals`);
			const audit = (await auditRows(inst, ws.id)).filter((e) => e.action === 'signal.dismissed');
			assert.deepEqual(audit.map((e) => e.target).sort(), [String(target.id), String(t2.id)].sort());
			assert.equal(audit.find((e) => e.target === String(target.id)).detail.kind, 'cancel_intent');
			// dismissed stays dismissed through re-evaluation
			await inst.ok(['detect', '--workspace', String(ws.id), '--full']);
			assert.ok(json(await api(c, owner, `/w/${ws.id}/signals?state=dismissed`)).signals.some((s) => s.id === target.id));
			// JSON route
			const another = json(await api(c, owner, `/w/${ws.id}/signals`)).signals[0];
			let a = await c.request('POST', `/api/v1/w/${ws.id}/signals/${another.id}/dismiss`, { cookie: viewer.cookie, json: {}, headers: { 'x-csrf-token': viewer.csrf } });
			assert.equal(a.status, 403);
			a = await c.request('POST', `/api/v1/w/${ws.id}/signals/${another.id}/dismiss`, { cookie: owner.cookie, json: { reason: 'r'.repeat(501) }, headers: { 'x-csrf-token': owner.csrf } });
			assert.equal(a.status, 400);
			a = await c.request('POST', `/api/v1/w/${ws.id}/signals/${another.id}/dismiss`, { cookie: owner.cookie, json: { reason: 'known' }, headers: { 'x-csrf-token': owner.csrf } });
			assert.equal(a.status, 200, a.text);
			assert.deepEqual(JSON.parse(a.text), { id: another.id, state: 'dismissed' });
			// another workspace's signal id, or a stranger: 404
			a = await c.request('POST', `/api/v1/w/${other.id}/signals/${another.id}/dismiss`, { cookie: owner.cookie, json: {}, headers: { 'x-csrf-token': owner.csrf } });
			assert.equal(a.status, 404);
			a = await c.request('POST', `/api/v1/w/${ws.id}/signals/99999999/dismiss`, { cookie: owner.cookie, json: {}, headers: { 'x-csrf-token': owner.csrf } });
			assert.equal(a.status, 404);
		});

		test('detection settings: viewers read, admins save (per-field error, audited)', async () => {
			let r = await c.as(viewer).get(`/w/${ws.id}/settings/detection`);
			assert.equal(r.status, 200);
			assert.ok(!r.text.includes('action="/w/' + ws.id + '/settings/detection"'), 'no form for a viewer');
			const s = json(await api(c, viewer, `/w/${ws.id}/settings/detection`)).settings;
			assert.equal(typeof s.usage_drop_pct, 'number');
			assert.equal((await c.as(viewer).post(`/w/${ws.id}/settings/detection`, { usage_drop_pct: '40' })).status, 403);
			assert.equal((await c.as(member).post(`/w/${ws.id}/settings/detection`, { usage_drop_pct: '40' })).status, 403);
			r = await c.as(owner).get(`/w/${ws.id}/settings/detection`);
			assert.match(r.text, /name="usage_drop_pct"/);
			assert.match(r.text, /name="weights.gone_quiet"/);
			assert.match(r.text, /<textarea id="ds-cancel_patterns" name="cancel_patterns"/);
			r = await c.as(owner).post(`/w/${ws.id}/settings/detection`, { usage_drop_pct: '40', 'weights.gone_quiet': '35', cancel_patterns: 'page */bye*\nclick *leave*\n' });
			assert.equal(r.status, 303, mainText(r.text));
			const s2 = json(await api(c, owner, `/w/${ws.id}/settings/detection`)).settings;
			assert.equal(s2.usage_drop_pct, 40);
			assert.equal(s2.weights.gone_quiet, 35);
			assert.deepEqual(s2.cancel_patterns, ['page */bye*', 'click *leave*']);
			r = await c.as(owner).post(`/w/${ws.id}/settings/detection`, { usage_drop_pct: '500' });
			assert.equal(r.status, 400);
			assert.match(r.text, /<p class="field-error" id="ds-usage_drop_pct-error">usage_drop_pct must be/);
			r = await c.as(owner).post(`/w/${ws.id}/settings/detection`, { usage_drop_pct: 'abc' });
			assert.equal(r.status, 400);
			let a = await c.request('POST', `/api/v1/w/${ws.id}/settings/detection`, { cookie: owner.cookie, json: { usage_drop_pct: 45 }, headers: { 'x-csrf-token': owner.csrf } });
			assert.equal(a.status, 200, a.text);
			assert.equal(JSON.parse(a.text).settings.usage_drop_pct, 45);
			a = await c.request('POST', `/api/v1/w/${ws.id}/settings/detection`, { cookie: owner.cookie, json: { no_such: 1 }, headers: { 'x-csrf-token': owner.csrf } });
			assert.equal(a.status, 400);
			const audit = (await auditRows(inst, ws.id)).filter((e) => e.action === 'settings.changed' && e.target === 'detection');
			assert.equal(audit.length, 2);
			assert.deepEqual(audit[1].detail.changed.sort(), ['cancel_patterns', 'usage_drop_pct', 'weights']);
		});

		test('API tokens: a viewer token reads the JSON of its own workspace only and cannot dismiss; a member token dismisses', async () => {
			const mk = async (email, role) => JSON.parse(await inst.ok(['workspace', 'token', 'create', '--workspace', String(ws.id), '--account', email, '--name', `dash ${role}`, '--role', role])).token;
			const vt = await mk('viewer@example.test', 'viewer');
			const bearer = (t) => ({ authorization: `Bearer ${t}`, accept: 'application/json' });
			for (const p of ['overview', 'users?sort=health', 'signals', 'settings/detection']) {
				const r = await c.request('GET', `/api/v1/w/${ws.id}/${p}`, { headers: bearer(vt) });
				assert.equal(r.status, 200, `${p}: ${r.text.slice(0, 200)}`);
				JSON.parse(r.text);
				assert.equal((await c.request('GET', `/api/v1/w/${other.id}/${p}`, { headers: bearer(vt) })).status, 404, p);
			}
			const sig = json(await api(c, owner, `/w/${ws.id}/signals`)).signals[0];
			let r = await c.request('POST', `/api/v1/w/${ws.id}/signals/${sig.id}/dismiss`, { headers: bearer(vt), json: {} });
			assert.equal(r.status, 403);
			const mt = await mk('member@example.test', 'member');
			r = await c.request('POST', `/api/v1/w/${ws.id}/signals/${sig.id}/dismiss`, { headers: bearer(mt), json: { reason: 'by script' } });
			assert.equal(r.status, 200, r.text);
			assert.ok(json(await api(c, owner, `/w/${ws.id}/signals?state=dismissed`)).signals.some((x) => x.id === sig.id && x.dismiss_reason === 'by script'));
		});

		test('a viewer reads every page and its JSON; every POST answers 403; strangers 404', async () => {
			const uid = json(await api(c, owner, `/w/${ws.id}/overview`)).top[0].href;
			for (const p of [`/w/${ws.id}`, `/w/${ws.id}/users`, uid, `/w/${ws.id}/signals`, `/w/${ws.id}/settings/detection`]) {
				assert.equal((await c.as(viewer).get(p)).status, 200, p);
				assert.equal((await c.as(stranger).get(p)).status, 404, p);
			}
			for (const p of [`/w/${ws.id}/overview`, `/w/${ws.id}/users`, uid, `/w/${ws.id}/signals`, `/w/${ws.id}/settings/detection`]) {
				assert.equal((await api(c, viewer, p)).status, 200, p);
				assert.equal((await api(c, stranger, p)).status, 404, p);
			}
			const sig = json(await api(c, owner, `/w/${ws.id}/signals`)).signals[0];
			for (const p of [`${uid}/notes`, `/w/${ws.id}/signals/${sig.id}/dismiss`, `/w/${ws.id}/settings/detection`]) {
				assert.equal((await c.as(viewer).post(p, { body: 'x', reason: 'x' })).status, 403, p);
				const j = await c.request('POST', `/api/v1${p}`, { cookie: viewer.cookie, json: {}, headers: { 'x-csrf-token': viewer.csrf } });
				assert.equal(j.status, 403, p);
			}
			assert.ok(json(await api(c, owner, `/w/${ws.id}/signals`)).signals.some((s) => s.id === sig.id), 'still open');
		});
	});
}

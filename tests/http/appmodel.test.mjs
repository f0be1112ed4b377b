// The app-model review page GET /w/:ws/app-model, its edits POST /w/:ws/app-model/:action
// and its JSON twin GET /api/v1/w/:ws/app-model (issue 6 item 1; SQLite and PostgreSQL):
// features from real /v1/batch posts named by the rules, usage and automatic core set,
// rename / merge / unmerge / hide / unhide / core with CSRF, validation (names, merge
// cycles, unknown features), the audit entries, viewers read but change nothing,
// payloads in event names and founder names render as text.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PG_SKIP, account, auditRows, client, installation, join, mainText, postBatch, serve, workspace } from './wslib.mjs';

const iso = (ms) => new Date(ms).toISOString();
const XSS_CLICK = '<script>alert(1)</script>';
const XSS_NAME = '"><img src=x onerror=alert(2)>';

for (const backend of ['sqlite', 'pg']) {
	describe(`app model (${backend})`, { skip: backend === 'pg' && PG_SKIP, concurrency: false }, () => {
		let inst, srv, ws, other, c, owner, viewer, stranger;
		const api = async (s = owner) => {
			const r = await c.as(s).get(`/api/v1/w/${ws.id}/app-model`, { headers: { accept: 'application/json' } });
			assert.equal(r.status, 200, r.text);
			return JSON.parse(r.text);
		};
		const byKey = (j, key) => {
			const f = j.features.find((x) => x.key === key);
			assert.ok(f, `feature ${key} in ${JSON.stringify(j.features.map((x) => x.key))}`);
			return f;
		};
		before(async () => {
			inst = await installation({ pg: backend === 'pg' });
			await account(inst, 'owner@example.test');
			await account(inst, 'viewer@example.test');
			await account(inst, 'stranger@example.test');
			ws = await workspace(inst, 'owner@example.test', 'Acme');
			other = await workspace(inst, 'stranger@example.test', 'Theirs');
			srv = await serve(inst);
			c = client(srv);
			owner = await c.session('owner@example.test');
			stranger = await c.session('stranger@example.test');
			viewer = await join(inst, srv, c, owner, ws.id, 'viewer@example.test', 'viewer');
			const now = inst.now();
			const batch = [];
			// 4 users over 3 days: everyone views the settings page and creates invoices;
			// one user exports; one clicks the payload button.
			for (let u = 0; u < 4; u++) {
				for (let d = 0; d < 3; d++) {
					const t = now - d * 86400_000 - 3600_000;
					batch.push({ type: 'page', user_id: `u${u}`, name: `/projects/${100 + u}/settings`, timestamp: iso(t) });
					batch.push({ type: 'api', user_id: `u${u}`, name: 'POST /api/invoices', properties: { method: 'POST', path: '/api/invoices', status: 201 }, timestamp: iso(t + 1000) });
				}
			}
			batch.push({ type: 'click', user_id: 'u0', name: 'Export CSV', timestamp: iso(now - 7200_000) });
			batch.push({ type: 'submit', user_id: 'u1', name: 'Sign in', timestamp: iso(now - 7200_000) });
			batch.push({ type: 'track', user_id: 'u2', name: 'Signed up', timestamp: iso(now - 7200_000) });
			batch.push({ type: 'click', user_id: 'u3', name: XSS_CLICK, timestamp: iso(now - 7200_000) });
			await postBatch(srv, ws.secret_key, batch);
			await postBatch(srv, other.secret_key, [{ type: 'click', user_id: 'x', name: 'Theirs only', timestamp: iso(now - 7200_000) }]);
		});
		after(async () => {
			await srv?.stop();
			inst?.drop();
		});

		test('page: rule names, usage, automatic core, forms for admins, payloads as text', async () => {
			const r = await c.as(owner).get(`/w/${ws.id}/app-model`);
			assert.equal(r.status, 200, r.text.slice(0, 500));
			assert.match(r.text, new RegExp(`href="/w/${ws.id}/app-model"`), 'nav entry');
			const text = mainText(r.text);
			for (const name of ['Create invoice', 'Page: Project settings', 'Click: Export CSV', 'Form: Sign in', 'Signed up'])
				assert.ok(text.includes(name), `${name} in ${text.slice(0, 600)}`);
			assert.match(text, /Not reviewed yet/);
			assert.ok(!r.text.includes('<script>alert(1)'), 'click label escaped');
			assert.ok(r.text.includes('Click: &lt;script&gt;alert(1)&lt;/script&gt;'));
			assert.ok(!r.text.includes('Theirs only'), 'other workspace not shown');
			assert.match(r.text, new RegExp(`<form method="post" action="/w/${ws.id}/app-model/rename"`));
			assert.match(r.text, /name="_csrf" value="[^"]+"/);
			assert.doesNotMatch(r.text, /style=|<script>(?!alert)/);
		});

		test('JSON: the same data, automatic core by user-days', async () => {
			const j = await api();
			assert.equal(j.reviewed, false);
			assert.equal(j.core_mode, 'automatic');
			assert.equal(j.window_days, 30);
			assert.equal(j.total, 6);
			const inv = byKey(j, 'api POST /api/invoices');
			const page = byKey(j, 'page /projects/:id/settings');
			assert.equal(inv.name, 'Create invoice');
			assert.equal(inv.users_30d, 4);
			assert.equal(inv.days_30d, 12);
			assert.equal(page.name, 'Page: Project settings');
			// 12 active user-days; the two used on all of them are core, the one-offs are not
			assert.deepEqual([...j.core_ids].sort((a, b) => a - b), [inv.id, page.id].sort((a, b) => a - b));
			assert.equal(inv.core, true);
			assert.equal(inv.core_source, 'automatic');
			assert.equal(byKey(j, 'click Export CSV').core, false);
			assert.equal(byKey(j, `click ${XSS_CLICK}`).name, `Click: ${XSS_CLICK}`);
			assert.equal(j.features[0].days_30d >= j.features.at(-1).days_30d, true, 'most used first');
		});

		test('edits: rename, merge, hide, core; JSON reflects them; audited', async () => {
			let j = await api();
			const inv = byKey(j, 'api POST /api/invoices');
			const csv = byKey(j, 'click Export CSV');
			const signup = byKey(j, 'track Signed up');
			const signin = byKey(j, 'submit Sign in');
			const ok = async (action, form) => {
				const r = await c.as(owner).post(`/w/${ws.id}/app-model/${action}`, form);
				assert.equal(r.status, 303, `${action}: ${r.status} ${mainText(r.text).slice(0, 300)}`);
				assert.equal(r.location, `/w/${ws.id}/app-model`);
			};
			// the merge panel (?merge=ID): the other features as targets, not the feature itself
			const panel = await c.as(owner).get(`/w/${ws.id}/app-model?merge=${csv.id}`);
			assert.equal(panel.status, 200);
			assert.match(panel.text, /<h2 id="merge-h">Merge “Click: Export CSV”<\/h2>/);
			const options = [...panel.text.matchAll(/<option value="(\d+)">/g)].map((m) => Number(m[1]));
			assert.ok(options.includes(signup.id) && options.includes(inv.id));
			assert.ok(!options.includes(csv.id), 'not into itself');
			assert.equal((await c.as(owner).get(`/w/${ws.id}/app-model?merge=x`)).status, 400);
			await ok('rename', { feature: inv.id, name: '  Invoice created  ' });
			await ok('rename', { feature: signin.id, name: XSS_NAME });
			await ok('merge', { feature: csv.id, into: signup.id });
			await ok('hide', { feature: signin.id });
			await ok('core', { feature: signup.id, core: 'yes' });
			j = await api();
			assert.equal(byKey(j, 'api POST /api/invoices').name, 'Invoice created');
			assert.equal(byKey(j, 'api POST /api/invoices').renamed, true);
			assert.equal(byKey(j, 'click Export CSV').merged_into, signup.id);
			assert.equal(byKey(j, 'click Export CSV').counts_as, signup.id);
			assert.equal(byKey(j, 'submit Sign in').hidden, true);
			assert.equal(byKey(j, 'submit Sign in').counts_as, 0);
			assert.equal(j.reviewed, true);
			assert.equal(j.core_mode, 'chosen');
			assert.deepEqual(j.core_ids, [signup.id]);
			assert.equal(byKey(j, 'track Signed up').core_source, 'chosen');

			// the page shows the founder's payload name as text
			const r = await c.as(owner).get(`/w/${ws.id}/app-model`);
			assert.ok(!r.text.includes('<img src=x'), 'founder name escaped');
			assert.ok(r.text.includes('&quot;&gt;&lt;img src=x onerror=alert(2)&gt;'));
			assert.match(mainText(r.text), /Reviewed: you chose the core features \(1\)/);

			// back: unmerge, unhide, core auto, automatic name
			await ok('unmerge', { feature: csv.id });
			await ok('unhide', { feature: signin.id });
			await ok('core', { feature: signup.id, core: 'auto' });
			await ok('rename', { feature: inv.id, name: '' });
			j = await api();
			assert.equal(byKey(j, 'click Export CSV').merged_into, null);
			assert.equal(byKey(j, 'submit Sign in').hidden, false);
			assert.equal(j.reviewed, false);
			assert.equal(byKey(j, 'api POST /api/invoices').name, 'Create invoice');

			const rows = await auditRows(inst, ws.id);
			const actions = rows.map((x) => x.action);
			for (const a of ['appmodel.renamed', 'appmodel.merged', 'appmodel.unmerged', 'appmodel.hidden', 'appmodel.unhidden', 'appmodel.core_set'])
				assert.ok(actions.includes(a), `${a} in ${actions.join(',')}`);
			const merged = rows.find((x) => x.action === 'appmodel.merged');
			assert.equal(merged.target, 'click Export CSV');
			assert.equal(JSON.stringify(merged.detail ?? '').includes(String(signup.id)), true, JSON.stringify(merged));
		});

		test('invalid edits: names, merge cycles, unknown features and actions, CSRF', async () => {
			const j = await api();
			const a = byKey(j, 'click Export CSV');
			const b = byKey(j, 'track Signed up');
			const post = (action, form, s = owner) => c.as(s).post(`/w/${ws.id}/app-model/${action}`, form);
			let r = await post('rename', { feature: a.id, name: 'x'.repeat(81) });
			assert.equal(r.status, 400);
			assert.match(mainText(r.text), /at most 80 bytes/);
			r = await post('rename', { feature: a.id, name: 'tab\there' });
			assert.equal(r.status, 400);
			r = await post('merge', { feature: a.id, into: a.id });
			assert.equal(r.status, 400);
			assert.equal((await post('merge', { feature: a.id, into: b.id })).status, 303);
			r = await post('merge', { feature: b.id, into: a.id });
			assert.equal(r.status, 400, 'a cycle is refused');
			assert.match(mainText(r.text), /cannot end up merged into itself/);
			assert.equal((await post('unmerge', { feature: a.id })).status, 303);
			r = await post('hide', { feature: 987654321 });
			assert.equal(r.status, 404);
			r = await post('core', { feature: a.id, core: 'maybe' });
			assert.equal(r.status, 400);
			r = await post('explode', { feature: a.id });
			assert.equal(r.status, 404);
			r = await post('hide', { feature: a.id, bogus: '1' });
			assert.equal(r.status, 400, 'unknown fields refused');
			// without the CSRF token
			r = await c.request('POST', `/w/${ws.id}/app-model/hide`, { cookie: owner.cookie, form: { feature: a.id } });
			assert.equal(r.status, 403);
			assert.equal(byKey(await api(), 'click Export CSV').hidden, false);
			// another workspace's feature id is unknown here
			const theirs = await c.as(stranger).get(`/api/v1/w/${other.id}/app-model`);
			const tid = JSON.parse(theirs.text).features[0].id;
			if (!j.features.some((f) => f.id === tid)) assert.equal((await post('hide', { feature: tid })).status, 404);
		});

		test('viewers read the page and the JSON without forms; cannot edit; strangers see nothing', async () => {
			const r = await c.as(viewer).get(`/w/${ws.id}/app-model`);
			assert.equal(r.status, 200);
			assert.ok(mainText(r.text).includes('Create invoice'));
			assert.doesNotMatch(r.text, /app-model\/(rename|merge|hide|unhide|unmerge|core)"|\?merge=/);
			const vp = await c.as(viewer).get(`/w/${ws.id}/app-model?merge=${byKey(await api(viewer), 'click Export CSV').id}`);
			assert.equal(vp.status, 200);
			assert.doesNotMatch(vp.text, /id="merge-h"|<form method="post" action="[^"]*app-model/);
			const j = await api(viewer);
			const f = byKey(j, 'api POST /api/invoices');
			const p = await c.as(viewer).post(`/w/${ws.id}/app-model/rename`, { feature: f.id, name: 'Nope' });
			assert.equal(p.status, 403);
			assert.equal(byKey(await api(), 'api POST /api/invoices').name, 'Create invoice');
			const s = await c.as(stranger).get(`/w/${ws.id}/app-model`);
			assert.notEqual(s.status, 200);
			assert.ok(!s.text.includes('Create invoice'));
			const sj = await c.as(stranger).get(`/api/v1/w/${ws.id}/app-model`);
			assert.notEqual(sj.status, 200);
			const anon = await c.get(`/api/v1/w/${ws.id}/app-model`);
			assert.notEqual(anon.status, 200);
		});

		test('JSON edits for scripts: POST /api/v1/w/:ws/app-model/:action', async () => {
			const j = await api();
			const f = byKey(j, 'click Export CSV');
			const to = byKey(j, 'track Signed up');
			const call = (action, body, s = owner, headers = { 'x-csrf-token': s.csrf }) =>
				c.request('POST', `/api/v1/w/${ws.id}/app-model/${action}`, { cookie: s.cookie, json: body, headers });
			let r = await call('rename', { feature: f.id, name: 'CSV export' });
			assert.equal(r.status, 200, r.text);
			assert.equal(JSON.parse(r.text).feature.name, 'CSV export');
			r = await call('merge', { feature: f.id, into: to.id });
			assert.equal(r.status, 200, r.text);
			assert.equal(JSON.parse(r.text).feature.counts_as, to.id);
			r = await call('merge', { feature: to.id, into: f.id });
			assert.equal(r.status, 400);
			assert.equal(JSON.parse(r.text).error.field, '/into');
			r = await call('core', { feature: f.id, core: 'sometimes' });
			assert.equal(r.status, 400);
			assert.equal(JSON.parse(r.text).error.field, '/core');
			r = await call('hide', { feature: 987654321 });
			assert.equal(r.status, 404);
			assert.equal(JSON.parse(r.text).error.code, 'not_found');
			r = await call('unmerge', { feature: f.id }, owner, {});
			assert.equal(r.status, 403, 'a session needs the CSRF header');
			r = await call('unmerge', { feature: f.id }, viewer);
			assert.equal(r.status, 403, 'viewers cannot edit');
			assert.equal((await call('unmerge', { feature: f.id })).status, 200);
			assert.equal((await call('rename', { feature: f.id, name: '' })).status, 200);
			const back = byKey(await api(), 'click Export CSV');
			assert.equal(back.name, 'Click: Export CSV');
			assert.equal(back.merged_into, null);
			const actions = (await auditRows(inst, ws.id)).filter((x) => x.target === 'click Export CSV').map((x) => x.action);
			assert.ok(actions.filter((a) => a === 'appmodel.renamed').length >= 2);
		});

		test('API tokens: a viewer token reads, an admin token edits, neither crosses workspaces', async () => {
			const token = async (role) => {
				const r = await c.request('POST', `/api/v1/w/${ws.id}/tokens`, { cookie: owner.cookie, json: { name: `appmodel ${role}`, role }, headers: { 'x-csrf-token': owner.csrf, accept: 'application/json' } });
				assert.equal(r.status, 201, r.text);
				return JSON.parse(r.text).token;
			};
			const bearer = (t) => ({ headers: { authorization: `Bearer ${t}`, accept: 'application/json' } });
			const ro = await token('viewer');
			const rw = await token('admin');
			let r = await c.request('GET', `/api/v1/w/${ws.id}/app-model`, bearer(ro));
			assert.equal(r.status, 200, r.text);
			const f = JSON.parse(r.text).features.find((x) => x.key === 'submit Sign in');
			r = await c.request('POST', `/api/v1/w/${ws.id}/app-model/hide`, { ...bearer(ro), json: { feature: f.id } });
			assert.equal(r.status, 403);
			r = await c.request('POST', `/api/v1/w/${ws.id}/app-model/hide`, { ...bearer(rw), json: { feature: f.id } });
			assert.equal(r.status, 200, r.text);
			assert.equal(JSON.parse(r.text).feature.hidden, true);
			r = await c.request('POST', `/api/v1/w/${ws.id}/app-model/unhide`, { ...bearer(rw), json: { feature: f.id } });
			assert.equal(JSON.parse(r.text).feature.hidden, false);
			r = await c.request('GET', `/api/v1/w/${other.id}/app-model`, bearer(ro));
			assert.notEqual(r.status, 200);
			assert.ok(!r.text.includes('Theirs only'));
		});

		test('?page= is validated', async () => {
			assert.equal((await c.as(owner).get(`/w/${ws.id}/app-model?page=0`)).status, 400);
			const r = await c.as(owner).get(`/api/v1/w/${ws.id}/app-model?page=x`);
			assert.equal(r.status, 400);
			assert.equal(JSON.parse(r.text).error.code, 'invalid_parameter');
			const j = JSON.parse((await c.as(owner).get(`/api/v1/w/${ws.id}/app-model?page=2`)).text);
			assert.equal(j.features.length, 0);
			assert.equal(j.page, 2);
		});
	});
}

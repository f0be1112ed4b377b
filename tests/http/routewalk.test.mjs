// Walks the whole route table (GET /__test/routes, a test-build hook listing every
// route with its method, pattern, auth class and least role) on SQLite and on
// PostgreSQL:
//   - every state-changing route that is cookie-authenticated (public forms, session and
//     workspace routes) refuses a missing and a wrong CSRF token with 403, and a foreign
//     Origin even with the right token;
//   - every workspace route answers 404 to a signed-in account that is not a member
//     (and for a workspace that does not exist), whatever the method and role;
//   - every workspace route refuses a caller who is not signed in.
// Routes outside cookie authentication (ingestion keys, the metrics token) and
// test-only routes marked no_csrf are listed and skipped by name.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PG_SKIP, account, client, installation, serve, workspace } from './wslib.mjs';

// A concrete path for a pattern: :ws → ws, any other parameter → a harmless dummy.
function fill(pattern, ws) {
	return pattern.replace(/:([a-z_]+)/g, (_, name) => (name === 'ws' ? String(ws) : name === 'token' ? 'A'.repeat(43) : '1'));
}

function walk(backend) {
	let inst, srv, c, routes, mine, stranger, ws, other;

	before(async () => {
		inst = await installation({ pg: backend === 'pg' });
		await account(inst, 'member@example.test', 'Mia Member');
		await account(inst, 'stranger@example.test', 'Stan Stranger');
		ws = (await workspace(inst, 'member@example.test', 'Walked')).id;
		other = (await workspace(inst, 'stranger@example.test', 'Canary')).id; // the stranger has a workspace of their own
		srv = await serve(inst);
		c = client(srv);
		mine = await c.session('member@example.test');
		stranger = await c.session('stranger@example.test');
		const r = await c.get('/__test/routes');
		assert.equal(r.status, 200);
		routes = JSON.parse(r.text).routes;
	});
	after(async () => {
		if (srv) {
			const { code } = await srv.stop();
			assert.equal(code, 0, srv.logs());
		}
		inst?.drop();
	});

	test('the table is what the walk expects', () => {
		assert.ok(routes.length > 20);
		const ws = routes.filter((r) => r.auth === 'workspace');
		assert.ok(ws.length >= 10, 'workspace routes listed');
		for (const r of ws) {
			assert.match(r.pattern, /^\/(api\/v1\/)?w\/:ws(\/|$)/, `${r.pattern} is a workspace route outside /w/:ws`);
			assert.notEqual(r.min_role, 'none', `${r.pattern} names a least role`);
		}
		// every route under /w/:ws is a workspace route
		for (const r of routes) if (/^\/(api\/v1\/)?w\/:ws/.test(r.pattern)) assert.equal(r.auth, 'workspace', r.pattern);
		// only test hooks are outside the CSRF gate
		for (const r of routes.filter((x) => x.no_csrf)) assert.match(r.pattern, /^\/__test\//);
	});

	test('every state-changing route refuses a missing or wrong CSRF token', async () => {
		const changing = routes.filter((r) => r.method !== 'GET' && !r.no_csrf && ['public', 'session', 'workspace'].includes(r.auth));
		assert.ok(changing.length >= 15, `state-changing routes: ${changing.length}`);
		const checked = [];
		for (const r of changing) {
			const p = fill(r.pattern, ws);
			const signedIn = r.auth !== 'public';
			// the member owns the workspace: a refusal here is CSRF, never the role
			const cookie = signedIn ? mine.cookie : 'dropfix_csrf=' + 'c'.repeat(43);
			const cases = [
				['missing', {}, {}],
				['wrong', { _csrf: 'x'.repeat(43) }, {}],
				['empty', { _csrf: '' }, {}],
				['header', {}, { 'x-csrf-token': 'y'.repeat(43) }],
				['foreign origin', { _csrf: signedIn ? mine.csrf : 'c'.repeat(43) }, { origin: 'https://evil.example' }],
				['cross-site fetch', { _csrf: signedIn ? mine.csrf : 'c'.repeat(43) }, { 'sec-fetch-site': 'cross-site' }],
			];
			for (const [what, form, headers] of cases) {
				const res = await c.request(r.method, p, { cookie, form, headers });
				assert.equal(res.status, 403, `${r.method} ${r.pattern} with a ${what} CSRF token answered ${res.status}`);
			}
			// a public form without the double-submit cookie at all
			if (!signedIn) {
				const res = await c.request(r.method, p, { form: { _csrf: 'c'.repeat(43) } });
				assert.equal(res.status, 403, `${r.method} ${r.pattern} without the CSRF cookie`);
			}
			checked.push(`${r.method} ${r.pattern}`);
		}
		// nothing changed: the member is still the owner of an unchanged workspace
		const home = await c.as(mine).get(`/w/${ws}`);
		assert.equal(home.status, 200);
		assert.match(home.text, /<h1>Walked<\/h1>/);
		// controls: with the right token (and same-origin headers) the gate lets them through
		let ok = await c.as(mine).post(`/w/${ws}/settings`, { name: 'Walked', product_name: 'Walked', timezone: 'UTC', currency: 'USD' },
			{ headers: { origin: srv.url, 'sec-fetch-site': 'same-origin' } });
		assert.equal(ok.status, 303);
		ok = await c.request('POST', '/auth/login', { cookie: 'dropfix_csrf=' + 'c'.repeat(43), form: { _csrf: 'c'.repeat(43), email: 'member@example.test', password: 'wrong password here' } });
		assert.notEqual(ok.status, 403, 'a public form with a matching double-submit token passes the gate');
		assert.ok(checked.includes(`POST /w/:ws/settings`) && checked.includes('POST /auth/login'));
	});

	test('every workspace route answers 404 to a non-member, and to a workspace that does not exist', async () => {
		const wsRoutes = routes.filter((r) => r.auth === 'workspace');
		for (const r of wsRoutes) {
			for (const target of [ws, 9007199254740990]) {
				const p = fill(r.pattern, target);
				const res = await c.request(r.method, p, {
					cookie: stranger.cookie,
					form: r.method === 'GET' ? undefined : { _csrf: stranger.csrf },
				});
				assert.equal(res.status, 404, `${r.method} ${p} (non-member) answered ${res.status}`);
				assert.ok(!res.text.includes('Walked'), 'nothing of the workspace leaks');
			}
			// and the member's own session on the stranger's workspace
			const res = await c.request(r.method, fill(r.pattern, other), {
				cookie: mine.cookie,
				form: r.method === 'GET' ? undefined : { _csrf: mine.csrf },
			});
			assert.equal(res.status, 404, `${r.method} ${r.pattern} on another tenant answered ${res.status}`);
		}
		// malformed ids are not found either
		for (const bad of ['0', '-1', 'abc', '9007199254740992', '01']) {
			const res = await c.as(stranger).get(`/w/${bad}`);
			assert.equal(res.status, 404, `/w/${bad}`);
		}
	});

	test('every workspace route refuses a caller who is not signed in', async () => {
		for (const r of routes.filter((x) => x.auth === 'workspace' || x.auth === 'session')) {
			const res = await c.request(r.method, fill(r.pattern, ws), { form: r.method === 'GET' ? undefined : { _csrf: 'x' } });
			if (r.method === 'GET' && r.html) {
				assert.equal(res.status, 303, `${r.pattern}`);
				assert.match(res.location, /^\/auth\/login/);
			} else if (r.method === 'GET') {
				// the JSON API answers with the error envelope, never a redirect
				assert.equal(res.status, 401, `${r.pattern}`);
				assert.equal(JSON.parse(res.text).error.code, 'unauthenticated', r.pattern);
			} else {
				assert.ok(res.status === 401 || res.status === 403, `${r.method} ${r.pattern} answered ${res.status}`);
			}
		}
	});
}

describe('route-table walk on SQLite', () => walk('sqlite'));
describe('route-table walk on PostgreSQL', { skip: PG_SKIP }, () => walk('pg'));

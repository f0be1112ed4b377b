// "A viewer reads everything and changes nothing" (issue 6 acceptance), walked over the
// route table (GET /__test/routes) on SQLite and PostgreSQL, in a workspace with
// simulated history:
//   - every workspace GET route whose least role is viewer answers a viewer's session
//     200 (404 only where a path parameter names a resource that cannot exist), and
//     every one whose least role is higher answers 403;
//   - every state-changing workspace route answers a viewer 403 "forbidden" with a valid
//     CSRF token (so the refusal is the role, not the form), except the short list of
//     viewer actions below (leaving the workspace), which is checked to be exactly that;
//   - the same over /api/v1/w/ with a viewer API token (no CSRF for tokens);
//   - afterwards the workspace's rows are what they were.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sleep } from './lib.mjs';
import { PG_SKIP, account, client, installation, join, requestInit, serve, simulateVia, workspace } from './wslib.mjs';

// State-changing workspace routes a viewer may use (PERM table: team.leave).
const VIEWER_ACTIONS = ['POST /w/:ws/settings/team/leave'];

// Path parameters with real values (`known`: name → value, e.g. a simulated user's id),
// else a value that names nothing.
const known = {};

function fill(pattern, ws) {
	return pattern.replace(/:([a-z_]+)/g, (_, name) =>
		name === 'ws' ? String(ws) : name in known ? encodeURIComponent(known[name]) : name === 'token' ? 'A'.repeat(43) : '1');
}
const hasResourceParam = (pattern) => [...pattern.matchAll(/:([a-z_]+)/g)].some(([, n]) => n !== 'ws' && !(n in known));

function suite(backend) {
	let inst, srv, c, ws, owner, viewer, viewerToken, routes;

	// The workspace's row counts (test hook), background jobs left out (detection runs
	// after ingestion on its own schedule), once two reads agree.
	async function rows() {
		let prev = null;
		for (let i = 0; i < 50; i++) {
			const { jobs, ...rest } = await c.rows(ws);
			if (prev && JSON.stringify(prev) === JSON.stringify(rest)) return rest;
			prev = rest;
			await sleep(100);
		}
		return prev;
	}

	// One request; an event stream is answered by its headers (then aborted).
	async function hit(method, p, opts = {}) {
		const { headers: h, body } = requestInit(opts);
		const ac = new AbortController();
		const res = await fetch(srv.url + p, { method, headers: h, body, redirect: 'manual', signal: ac.signal });
		let text = '';
		if ((res.headers.get('content-type') || '').startsWith('text/event-stream')) ac.abort();
		else text = await res.text();
		return { status: res.status, text, headers: res.headers };
	}

	before(async () => {
		inst = await installation({ pg: backend === 'pg' });
		await account(inst, 'owner@example.test', 'Olive Owner');
		await account(inst, 'viewer@example.test', 'Vic Viewer');
		const w = await workspace(inst, 'owner@example.test', 'Watched');
		ws = w.id;
		srv = await serve(inst);
		c = client(srv);
		await simulateVia(inst, srv, w, ['--users', '14', '--days', '12', '--seed', '7']);
		owner = await c.session('owner@example.test');
		viewer = await join(inst, srv, c, owner, ws, 'viewer@example.test', 'viewer');
		const t = await c.request('POST', `/api/v1/w/${ws}/tokens`, {
			cookie: owner.cookie,
			json: { name: 'viewer walk', role: 'viewer' },
			headers: { 'x-csrf-token': owner.csrf, origin: srv.url },
		});
		assert.equal(t.status, 201, t.text);
		viewerToken = JSON.parse(t.text).token;
		// a real tracked user for /users/:uid pages
		const u = await c.as(owner).get(`/api/v1/w/${ws}/users`);
		if (u.status === 200 && JSON.parse(u.text).users?.length) known.uid = JSON.parse(u.text).users[0].id;
		const r = await c.get('/__test/routes');
		assert.equal(r.status, 200);
		routes = JSON.parse(r.text).routes.filter((x) => x.auth === 'workspace');
		assert.ok(routes.length >= 15, `workspace routes: ${routes.length}`);
	});
	after(async () => {
		if (srv) {
			const { code } = await srv.stop();
			assert.equal(code, 0, srv.logs());
		}
		inst?.drop();
	});

	test('a viewer session reads every page it may, and is refused the rest', async () => {
		const before = await rows();
		const readable = [];
		for (const r of routes.filter((x) => x.method === 'GET')) {
			const p = fill(r.pattern, ws);
			const res = await hit('GET', p, { cookie: viewer.cookie, headers: { accept: r.html ? 'text/html' : 'application/json' } });
			if (r.min_role === 'viewer') {
				const ok = res.status === 200 || (res.status === 404 && hasResourceParam(r.pattern));
				assert.ok(ok, `GET ${r.pattern} answered the viewer ${res.status}: ${res.text.slice(0, 300)}`);
				if (res.status === 200) readable.push(r.pattern);
				// a viewer is offered no form it would be refused (sign-out and leaving are theirs)
				if (res.status === 200 && r.html) {
					for (const m of res.text.matchAll(/<form[^>]*method="post"[^>]*action="([^"]*)"/g)) {
						const action = m[1].replace(/&amp;/g, '&');
						assert.ok(['/auth/logout', `/w/${ws}/settings/team/leave`].includes(action), `GET ${r.pattern} shows the viewer a form posting to ${action}`);
					}
				}
			} else {
				assert.equal(res.status, 403, `GET ${r.pattern} (least role ${r.min_role}) answered the viewer ${res.status}`);
			}
		}
		for (const p of ['/w/:ws', '/w/:ws/users', '/w/:ws/settings', '/w/:ws/settings/keys', '/w/:ws/settings/team', '/api/v1/w/:ws/whoami'])
			assert.ok(readable.includes(p), `${p} readable by a viewer`);
		assert.deepEqual(await rows(), before, 'reading changed nothing');
	});

	test('every state-changing workspace route refuses a viewer session with a valid CSRF token', async () => {
		const before = await rows();
		const changing = routes.filter((x) => x.method !== 'GET');
		assert.ok(changing.length >= 10);
		const allowed = changing.filter((x) => x.min_role === 'viewer').map((x) => `${x.method} ${x.pattern}`);
		assert.deepEqual(allowed.sort(), [...VIEWER_ACTIONS].sort(), 'state-changing routes open to viewers (review any addition)');
		for (const r of changing) {
			if (VIEWER_ACTIONS.includes(`${r.method} ${r.pattern}`)) continue;
			const p = fill(r.pattern, ws);
			const res = await hit(r.method, p, {
				cookie: viewer.cookie,
				form: { _csrf: viewer.csrf },
				headers: { 'x-csrf-token': viewer.csrf, origin: srv.url, 'sec-fetch-site': 'same-origin', accept: 'application/json' },
			});
			assert.equal(res.status, 403, `${r.method} ${r.pattern} answered the viewer ${res.status}: ${res.text.slice(0, 300)}`);
			// refused for the role, not the form (HTML routes answer with the error page)
			if (r.html) assert.match(res.text, /does not allow this/, `${r.method} ${r.pattern}: ${res.text.slice(0, 300)}`);
			else assert.equal(JSON.parse(res.text).error.code, 'forbidden', `${r.method} ${r.pattern}`);
		}
		assert.deepEqual(await rows(), before, 'nothing changed');
		// the viewer is still a viewer and the owner still in charge
		assert.equal((await c.as(viewer).get(`/w/${ws}`)).status, 200);
		assert.equal((await c.as(owner).get(`/w/${ws}/settings/tokens`)).status, 200);
	});

	test('a viewer API token reads the JSON API and changes nothing', async () => {
		const before = await rows();
		const api = routes.filter((x) => x.pattern.startsWith('/api/v1/w/'));
		assert.ok(api.length >= 4);
		for (const r of api) {
			const p = fill(r.pattern, ws);
			const res = await hit(r.method, p, { headers: { authorization: `Bearer ${viewerToken}` }, json: r.method === 'GET' ? undefined : {} });
			if (r.method === 'GET' && r.min_role === 'viewer') {
				const ok = res.status === 200 || (res.status === 404 && hasResourceParam(r.pattern));
				assert.ok(ok, `GET ${r.pattern} answered a viewer token ${res.status}: ${res.text.slice(0, 300)}`);
				assert.equal(res.headers.get('set-cookie'), null, `${r.pattern} set a cookie`);
			} else {
				assert.equal(res.status, 403, `${r.method} ${r.pattern} answered a viewer token ${res.status}`);
				assert.equal(JSON.parse(res.text).error.code, 'forbidden');
			}
		}
		assert.deepEqual(await rows(), before, 'nothing changed');
	});
}

describe('viewer walk on SQLite', () => suite('sqlite'));
describe('viewer walk on PostgreSQL', { skip: PG_SKIP }, () => suite('pg'));

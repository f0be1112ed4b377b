// `dropfix demo` (issue 6 item 6): a demo workspace with simulated history and printed
// sign-in details. Runs the demo on a fresh installation (test clock) with the server
// stopped, signs in with the printed credentials and checks the dashboard is populated;
// then runs it again while the server runs on the same SQLite database (a new password,
// the same data) and with --fresh (a new workspace). On PostgreSQL (when the test cluster
// is there): the demo with the server running, then the same dashboard checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { Client, signIn } from './authlib.mjs';
import { freePort, runBin } from './lib.mjs';
import { PG_SKIP, installation, serve } from './wslib.mjs';

const DEMO_EMAIL = 'demo@dropfix.local';

// The printed sign-in block: {login, email, password, workspace, wsId, path}.
function parseDemo(stdout) {
	const field = (name) => {
		const m = stdout.match(new RegExp(`^${name}:\\s+(\\S+)$`, 'm'));
		assert.ok(m, `no "${name}:" line in:\n${stdout}`);
		return m[1];
	};
	const workspace = field('Workspace');
	const m = workspace.match(/\/w\/(\d+)$/);
	assert.ok(m, `workspace address ${workspace}`);
	return { login: field('Sign in'), email: field('E-mail'), password: field('Password'), workspace, wsId: m[1], path: `/w/${m[1]}` };
}

async function signedIn(srv, email, password) {
	const c = new Client(srv.url);
	const res = await signIn(c, email, password);
	return { c, res };
}

test('dropfix demo: populated workspace, sign-in details, second run and --fresh with the server running', async () => {
	const inst = await installation();
	const port = await freePort();
	// the printed sign-in address comes from the listen address `serve` would use (the
	// test's server listens elsewhere: startServer picks its own port)
	const env = { ...inst.env, DROPFIX_LISTEN: `127.0.0.1:${port}` };

	// bad usage
	const bad = await inst.cli(['demo', '--users', '0']);
	assert.equal(bad.code, 2, bad.stderr);
	const badDays = await inst.cli(['demo', '--days', '3']);
	assert.equal(badDays.code, 2, badDays.stderr);

	// 1. server stopped
	const t0 = Date.now();
	const first = await runBin(['demo'], { env });
	const took = Date.now() - t0;
	assert.equal(first.code, 0, `${first.stdout}\n${first.stderr}`);
	assert.ok(took < 60000, `demo took ${took} ms`);
	const d1 = parseDemo(first.stdout);
	assert.equal(d1.login, `http://127.0.0.1:${port}/auth/login`);
	assert.equal(d1.email, DEMO_EMAIL);
	assert.ok(d1.password.length >= 16, d1.password);
	assert.equal(d1.workspace, `http://127.0.0.1:${port}${d1.path}`);
	const sim = first.stdout.match(/Simulated 60 users over 60 days: (\d+) events \((\d+) accepted\)/);
	assert.ok(sim, first.stdout);
	assert.ok(Number(sim[1]) > 10000, `events ${sim[1]}`);
	assert.equal(sim[1], sim[2], 'every simulated event accepted');
	// the password is printed on standard output only, never in the log
	assert.ok(!first.stderr.includes(d1.password));

	const srv = await serve(inst);
	try {
		const { c, res } = await signedIn(srv, d1.email, d1.password);
		assert.equal(res.status, 303, res.body.slice(0, 400));

		// users list: simulated users of every persona
		const users = await c.get(`${d1.path}/users`);
		assert.equal(users.status, 200);
		for (const persona of ['steady', 'power', 'dropping', 'gone_quiet', 'trial', 'cancelling', 'payment'])
			assert.match(users.body, new RegExp(`sim-${persona}-\\d{4}`), `persona ${persona} on the users page`);

		// overview page (the dashboard's home): bands and users to save
		const home = await c.get(d1.path);
		assert.equal(home.status, 200);
		assert.match(home.body, /Most worth saving/);
		assert.match(home.body, /\d+<\/span> healthy · <span class="stat-num">\d+<\/span> watch/);

		// the same as JSON: every user in a band, churning personas on top
		const api = await c.get(`/api/v1/w/${d1.wsId}/overview`, { headers: { Accept: 'application/json' } });
		assert.equal(api.status, 200, api.body.slice(0, 400));
		const o = JSON.parse(api.body);
		assert.equal(o.learning.locked, false, 'signals unlocked: the history is 60 days long');
		assert.equal(o.bands.healthy + o.bands.watch + o.bands.at_risk, 60);
		assert.ok(o.bands.healthy > 0 && o.bands.watch + o.bands.at_risk > 0, JSON.stringify(o.bands));
		assert.ok(o.top.length >= 3, 'three users to save');
		for (const u of o.top.slice(0, 3))
			assert.match(u.user_id, /^sim-(dropping|gone_quiet|trial|cancelling)-\d{4}$/, 'a churning persona among the users to save');
		assert.ok(o.signal_counts.some((k) => k.count > 0), 'open signals');

		// 2. again while the server runs on the same database: same workspace, new password
		// (DROPFIX_BASE_URL, when set, is the printed address)
		const second = await runBin(['demo'], { env: { ...env, DROPFIX_BASE_URL: srv.url } });
		assert.equal(second.code, 0, `${second.stdout}\n${second.stderr}`);
		assert.match(second.stdout, /demo workspace exists/);
		const d2 = parseDemo(second.stdout);
		assert.equal(d2.wsId, d1.wsId);
		assert.equal(d2.login, `${srv.url}/auth/login`);
		assert.notEqual(d2.password, d1.password);
		const old = await signedIn(srv, DEMO_EMAIL, d1.password);
		assert.equal(old.res.status, 401, 'the old password no longer signs in');
		const now = await signedIn(srv, DEMO_EMAIL, d2.password);
		assert.equal(now.res.status, 303);
		const users2 = await now.c.get(`${d2.path}/users`);
		assert.equal(users2.status, 200);
		assert.match(users2.body, /sim-steady-0000/);

		// 3. --fresh with the server running: a new workspace, the old one gone
		const fresh = await runBin(['demo', '--fresh', '--users', '14', '--days', '20'], { env });
		assert.equal(fresh.code, 0, `${fresh.stdout}\n${fresh.stderr}`);
		assert.match(fresh.stdout, /Simulated 14 users over 20 days/);
		const d3 = parseDemo(fresh.stdout);
		assert.notEqual(d3.wsId, d1.wsId);
		const s3 = await signedIn(srv, DEMO_EMAIL, d3.password);
		assert.equal(s3.res.status, 303);
		const gone = await s3.c.get(`${d1.path}/users`);
		assert.equal(gone.status, 404);
		const users3 = await s3.c.get(`${d3.path}/users`);
		assert.equal(users3.status, 200);
		assert.match(users3.body, /sim-payment-0013/);
	} finally {
		await srv.stop();
	}
});

test('dropfix demo on PostgreSQL with the server running', { skip: PG_SKIP }, async () => {
	const inst = await installation({ pg: true });
	const srv = await serve(inst);
	try {
		const r = await runBin(['demo', '--users', '21'], { env: inst.env });
		assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
		assert.match(r.stdout, /Simulated 21 users over 60 days/);
		assert.match(r.stdout, /Detection: 21 users evaluated/);
		const d = parseDemo(r.stdout);
		const { c, res } = await signedIn(srv, d.email, d.password);
		assert.equal(res.status, 303);
		const users = await c.get(`${d.path}/users`);
		assert.equal(users.status, 200);
		assert.match(users.body, /sim-cancelling-0005/);
		const api = await c.get(`/api/v1/w/${d.wsId}/overview`, { headers: { Accept: 'application/json' } });
		assert.equal(api.status, 200);
		const o = JSON.parse(api.body);
		assert.equal(o.bands.healthy + o.bands.watch + o.bands.at_risk, 21);
		assert.ok(o.top.length >= 3);
		// again: the same workspace, a new password
		const again = await runBin(['demo'], { env: inst.env });
		assert.equal(again.code, 0, again.stderr);
		assert.equal(parseDemo(again.stdout).wsId, d.wsId);
	} finally {
		await srv.stop();
		inst.drop();
	}
});

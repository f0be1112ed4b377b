// API tokens through the real binary (SQLite and PostgreSQL, test build): created on the
// settings page or through the JSON API (shown once), a token reads its own workspace's
// JSON API (GET /api/v1/w/:ws/whoami) and nothing else (404 on another workspace, ignored
// on HTML pages), 401 with the error envelope when unknown, revoked or expired, its role
// capped by its creator's current role, no CSRF for token requests while a cookie POST
// without CSRF to the same route is refused, no cookies on API responses, last_used_at
// touched at most once a minute, and the token text never in the audit log, the access
// log or a page after creation.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PG_SKIP, account, auditRows, client, installation, join, mainText, serve, workspace } from './wslib.mjs';

const TOKEN_RE = /dft_[A-Za-z0-9_-]{43}/g;
const DAY = 24 * 3600 * 1000;

function suite(backend) {
	let inst, srv, c, wsA, wsB, owner, admin, member, viewer;
	const seen = new Set();
	const issued = []; // every token text seen, to look for in logs and pages later
	let adminTokId; // the admin token that made a token itself

	const bearer = (token, extra = {}) => ({ headers: { authorization: `Bearer ${token}`, accept: 'application/json', ...extra } });
	const api = (method, p, token, json) => c.request(method, p, { ...bearer(token), json });
	const envelope = (r) => {
		assert.match(r.headers.get('content-type') || '', /^application\/json/);
		const j = JSON.parse(r.text);
		assert.equal(typeof j.error.code, 'string');
		assert.equal(typeof j.error.message, 'string');
		return j.error;
	};
	// A token made by session s through the JSON API (cookie + CSRF header).
	async function viaApi(s, ws, body) {
		const r = await c.request('POST', `/api/v1/w/${ws}/tokens`, {
			cookie: s.cookie,
			json: body,
			headers: { 'x-csrf-token': s.csrf, origin: srv.url, accept: 'application/json' },
		});
		if (r.status === 201) issued.push(JSON.parse(r.text).token);
		return r;
	}

	before(async () => {
		inst = await installation({ pg: backend === 'pg', env: { DROPFIX_LOG_LEVEL: 'info' } });
		for (const who of ['owner', 'admin', 'member', 'viewer']) await account(inst, `${who}@example.test`, `${who} person`);
		wsA = (await workspace(inst, 'owner@example.test', 'Alpha')).id;
		wsB = (await workspace(inst, 'owner@example.test', 'Bravo')).id;
		srv = await serve(inst);
		c = client(srv);
		owner = await c.session('owner@example.test');
		admin = await join(inst, srv, c, owner, wsA, 'admin@example.test', 'admin', seen);
		member = await join(inst, srv, c, owner, wsA, 'member@example.test', 'member', seen);
		viewer = await join(inst, srv, c, owner, wsA, 'viewer@example.test', 'viewer', seen);
	});
	after(async () => {
		if (srv) {
			const { code } = await srv.stop();
			assert.equal(code, 0, srv.logs());
		}
		inst?.drop();
	});

	test('the settings page creates a token and shows it once; later pages show only its prefix', async () => {
		let r = await c.as(owner).get(`/w/${wsA}/settings/tokens`);
		assert.equal(r.status, 200);
		assert.match(mainText(r.text), /No tokens yet/);
		assert.ok(r.text.includes(`href="/w/${wsA}/settings/tokens"`), 'linked from the settings nav');
		r = await c.as(owner).post(`/w/${wsA}/settings/tokens`, { name: 'nightly <export>', role: 'viewer' });
		assert.equal(r.status, 200, mainText(r.text));
		const shown = r.text.match(TOKEN_RE);
		assert.equal(shown.length, 1, 'the new token is on the page once');
		const token = shown[0];
		issued.push(token);
		assert.match(mainText(r.text), /shown only this once/);
		assert.ok(r.text.includes('nightly &lt;export&gt;'), 'the name is escaped');
		// the next page load: prefix only
		r = await c.as(owner).get(`/w/${wsA}/settings/tokens`);
		assert.equal(r.status, 200);
		assert.equal(r.text.match(TOKEN_RE), null, 'the token is never shown again');
		assert.ok(r.text.includes(`${token.slice(0, 12)}…`));
		assert.match(mainText(r.text), /nightly <export> dft_\S+… viewer owner person .* never never/);
		// it works
		r = await api('GET', `/api/v1/w/${wsA}/whoami`, token);
		assert.equal(r.status, 200, r.text);
		assert.deepEqual(JSON.parse(r.text), { workspace_id: wsA, role: 'viewer', via: 'token' });
		assert.deepEqual(r.setCookie, [], 'no cookie on an API response');
		// bad input on the page: field errors, nothing made
		r = await c.as(owner).post(`/w/${wsA}/settings/tokens`, { name: '', role: 'viewer' });
		assert.equal(r.status, 400);
		assert.match(mainText(r.text), /give the token a name/);
		r = await c.as(owner).post(`/w/${wsA}/settings/tokens`, { name: 'x', role: 'owner' });
		assert.equal(r.status, 400);
		assert.match(mainText(r.text), /role must be viewer, member or admin/);
		assert.equal(r.text.match(TOKEN_RE), null);
	});

	test('a token reads its own workspace only; unknown, garbage and other-scheme tokens get 401', async () => {
		const r0 = await viaApi(owner, wsA, { name: 'reader', role: 'member' });
		assert.equal(r0.status, 201, r0.text);
		const made = JSON.parse(r0.text);
		assert.match(made.token, /^dft_[A-Za-z0-9_-]{43}$/);
		assert.equal(made.display_prefix, made.token.slice(0, 12));
		assert.equal(made.role, 'member');
		assert.equal(made.expires_at, null);
		assert.deepEqual(r0.setCookie, []);
		let r = await api('GET', `/api/v1/w/${wsA}/whoami`, made.token);
		assert.equal(r.status, 200);
		assert.equal(JSON.parse(r.text).role, 'member');
		// another workspace of the same owner: not found, as for a non-member
		r = await api('GET', `/api/v1/w/${wsB}/whoami`, made.token);
		assert.equal(r.status, 404);
		assert.equal(envelope(r).code, 'not_found');
		r = await api('GET', `/api/v1/w/9007199254740990/whoami`, made.token);
		assert.equal(r.status, 404);
		// garbage, a well-formed unknown token, a one-character change, other schemes
		const flipped = made.token.slice(0, 20) + (made.token[20] === 'A' ? 'B' : 'A') + made.token.slice(21);
		for (const bad of ['garbage', 'dft_' + 'A'.repeat(43), flipped, made.token + 'x', `sk_${'A'.repeat(43)}`]) {
			r = await api('GET', `/api/v1/w/${wsA}/whoami`, bad);
			assert.equal(r.status, 401, bad);
			assert.equal(envelope(r).code, 'invalid_token');
			assert.match(r.headers.get('www-authenticate') || '', /^Bearer/);
			assert.deepEqual(r.setCookie, []);
		}
		r = await c.request('GET', `/api/v1/w/${wsA}/whoami`, { headers: { authorization: `Basic ${Buffer.from('a:b').toString('base64')}`, accept: 'application/json' } });
		assert.equal(r.status, 401);
		assert.equal(envelope(r).code, 'unauthenticated');
		// no credentials at all: the envelope, never a redirect
		r = await c.request('GET', `/api/v1/w/${wsA}/whoami`, { headers: { accept: 'application/json' } });
		assert.equal(r.status, 401);
		assert.equal(envelope(r).code, 'unauthenticated');
		// a bearer token on an HTML page is ignored: sign in first
		r = await c.request('GET', `/w/${wsA}`, bearer(made.token, { accept: 'text/html' }));
		assert.equal(r.status, 303);
		assert.match(r.location, /^\/auth\/login/);
		r = await c.request('POST', `/w/${wsA}/settings/tokens`, { ...bearer(made.token), form: { name: 'x', role: 'viewer' } });
		assert.ok(r.status === 401 || r.status === 403, `page POST with a bearer token: ${r.status}`);
		// a session still works on the API (via: session)
		r = await c.as(viewer).get(`/api/v1/w/${wsA}/whoami`, { headers: { accept: 'application/json' } });
		assert.equal(r.status, 200);
		assert.deepEqual(JSON.parse(r.text), { workspace_id: wsA, role: 'viewer', via: 'session' });
	});

	test('every JSON API read in the route table: own workspace only', async () => {
		const r0 = await viaApi(owner, wsA, { name: 'walker', role: 'viewer' });
		const tok = JSON.parse(r0.text).token;
		const rt = await c.get('/__test/routes');
		const reads = JSON.parse(rt.text).routes.filter((r) => r.auth === 'workspace' && r.method === 'GET' && r.pattern.startsWith('/api/v1/w/') && r.min_role === 'viewer');
		assert.ok(reads.some((r) => r.pattern === '/api/v1/w/:ws/whoami'));
		const fill = (p, ws) => p.replace(/:([a-z_]+)/g, (_, n) => (n === 'ws' ? String(ws) : '1'));
		for (const r of reads) {
			let res = await api('GET', fill(r.pattern, wsA), tok);
			const resource = /:(?!ws\b)[a-z_]+/.test(r.pattern);
			assert.ok(res.status === 200 || (resource && res.status === 404), `${r.pattern} on its own workspace: ${res.status} ${res.text.slice(0, 200)}`);
			assert.match(res.headers.get('content-type') || '', /^application\/json/, r.pattern);
			assert.deepEqual(res.setCookie, [], r.pattern);
			res = await api('GET', fill(r.pattern, wsB), tok);
			assert.equal(res.status, 404, `${r.pattern} on another workspace`);
			assert.ok(!res.text.includes('Bravo'));
		}
	});

	test('roles: only admins manage tokens, never above their role; a viewer token cannot change state', async () => {
		// member and viewer sessions: no token pages or API
		for (const s of [member, viewer]) {
			assert.equal((await c.as(s).get(`/w/${wsA}/settings/tokens`)).status, 403);
			assert.equal((await c.as(s).post(`/w/${wsA}/settings/tokens`, { name: 'x', role: 'viewer' })).status, 403);
			const r = await viaApi(s, wsA, { name: 'x', role: 'viewer' });
			assert.equal(r.status, 403);
			assert.equal(envelope(r).code, 'forbidden');
		}
		// an admin makes an admin token; owner is never a token role
		let r = await viaApi(admin, wsA, { name: 'admin script', role: 'admin' });
		assert.equal(r.status, 201, r.text);
		const adminTok = JSON.parse(r.text);
		r = await viaApi(admin, wsA, { name: 'too much', role: 'owner' });
		assert.equal(r.status, 400);
		assert.deepEqual(envelope(r), { code: 'invalid_field', message: 'the role must be viewer, member or admin', field: '/role' });
		// strict JSON: unknown fields and bad types are refused
		r = await viaApi(admin, wsA, { name: 'x', role: 'viewer', scopes: 'all' });
		assert.equal(r.status, 400);
		r = await viaApi(admin, wsA, { name: 'x', role: 'viewer', expires_days: 0 });
		assert.equal(r.status, 400);

		// viewer and member tokens may not manage tokens (a state-changing API route)
		r = await viaApi(owner, wsA, { name: 'viewer script', role: 'viewer' });
		const viewerTok = JSON.parse(r.text).token;
		r = await api('POST', `/api/v1/w/${wsA}/tokens`, viewerTok, { name: 'x', role: 'viewer' });
		assert.equal(r.status, 403);
		assert.equal(envelope(r).code, 'forbidden');
		r = await api('GET', `/api/v1/w/${wsA}/tokens`, viewerTok);
		assert.equal(r.status, 403);

		// an admin token needs no CSRF token …
		r = await api('POST', `/api/v1/w/${wsA}/tokens`, adminTok.token, { name: 'made by a token', role: 'member' });
		assert.equal(r.status, 201, r.text);
		const child = JSON.parse(r.text);
		issued.push(child.token);
		adminTokId = adminTok.id;
		assert.equal(child.role, 'member');
		// … while a cookie POST to the same route without one is refused
		r = await c.request('POST', `/api/v1/w/${wsA}/tokens`, { cookie: admin.cookie, json: { name: 'x', role: 'viewer' }, headers: { accept: 'application/json' } });
		assert.equal(r.status, 403);
		assert.equal(envelope(r).code, 'csrf');
		// a cookie and a bearer token together: the cookie rules (CSRF still applies)
		r = await c.request('POST', `/api/v1/w/${wsA}/tokens`, { cookie: admin.cookie, json: { name: 'x', role: 'viewer' }, ...bearer(adminTok.token) });
		assert.equal(r.status, 403);
		assert.equal(envelope(r).code, 'csrf');

		// the token's role follows its creator: demote the admin to member → the admin token acts as member
		r = await c.as(owner).post(`/w/${wsA}/settings/team/role`, { account: String(admin.id), role: 'member' });
		assert.equal(r.status, 303, mainText(r.text));
		r = await api('GET', `/api/v1/w/${wsA}/whoami`, adminTok.token);
		assert.equal(JSON.parse(r.text).role, 'member');
		r = await api('POST', `/api/v1/w/${wsA}/tokens`, adminTok.token, { name: 'x', role: 'viewer' });
		assert.equal(r.status, 403);
		// removed from the workspace → the token stops working
		r = await c.as(owner).post(`/w/${wsA}/settings/team/remove`, { account: String(admin.id) });
		assert.equal(r.status, 303, mainText(r.text));
		r = await api('GET', `/api/v1/w/${wsA}/whoami`, adminTok.token);
		assert.equal(r.status, 401);
	});

	test('revoked and expired tokens get 401; last_used_at is touched at most once a minute', async () => {
		let r = await viaApi(owner, wsA, { name: 'short lived', role: 'viewer', expires_days: 1 });
		assert.equal(r.status, 201);
		const short = JSON.parse(r.text);
		assert.equal(short.expires_at, inst.now() + DAY);
		r = await viaApi(owner, wsA, { name: 'to revoke', role: 'viewer' });
		const gone = JSON.parse(r.text);
		r = await viaApi(owner, wsA, { name: 'page revoke', role: 'viewer' });
		const gone2 = JSON.parse(r.text);
		for (const t of [short, gone, gone2]) assert.equal((await api('GET', `/api/v1/w/${wsA}/whoami`, t.token)).status, 200);

		const list = async () => {
			const l = await c.request('GET', `/api/v1/w/${wsA}/tokens`, { cookie: owner.cookie, headers: { accept: 'application/json' } });
			assert.equal(l.status, 200);
			assert.deepEqual(l.setCookie, []);
			const tokens = JSON.parse(l.text).tokens;
			for (const t of tokens) assert.deepEqual(Object.keys(t).sort(), ['created_at', 'created_by', 'display_prefix', 'expires_at', 'id', 'last_used_at', 'name', 'revoked_at', 'role']);
			return new Map(tokens.map((t) => [t.id, t]));
		};
		// used at now: last_used_at = now; again 30 s later: unchanged; 61 s after: moved
		const t0 = inst.now();
		assert.equal((await list()).get(gone.id).last_used_at, t0);
		inst.advance(30 * 1000);
		await api('GET', `/api/v1/w/${wsA}/whoami`, gone.token);
		assert.equal((await list()).get(gone.id).last_used_at, t0);
		inst.advance(31 * 1000);
		await api('GET', `/api/v1/w/${wsA}/whoami`, gone.token);
		assert.equal((await list()).get(gone.id).last_used_at, t0 + 61 * 1000);

		// revoke through the API (cookie + CSRF) and through the page
		r = await c.request('POST', `/api/v1/w/${wsA}/tokens/${gone.id}/revoke`, { cookie: owner.cookie, headers: { 'x-csrf-token': owner.csrf, origin: srv.url, accept: 'application/json' } });
		assert.equal(r.status, 200, r.text);
		assert.deepEqual(JSON.parse(r.text), { id: gone.id, revoked: true });
		r = await c.as(owner).post(`/w/${wsA}/settings/tokens/${gone2.id}/revoke`);
		assert.equal(r.status, 200);
		assert.match(mainText(r.text), new RegExp(`Token ${gone2.display_prefix}… revoked`));
		for (const t of [gone, gone2]) {
			r = await api('GET', `/api/v1/w/${wsA}/whoami`, t.token);
			assert.equal(r.status, 401);
			assert.equal(envelope(r).code, 'invalid_token');
		}
		// revoking twice, or another workspace's id, or nonsense: 404
		r = await c.as(owner).post(`/w/${wsA}/settings/tokens/${gone2.id}/revoke`);
		assert.equal(r.status, 404);
		r = await c.as(owner).post(`/w/${wsB}/settings/tokens/${short.id}/revoke`);
		assert.equal(r.status, 404);
		r = await c.as(owner).post(`/w/${wsA}/settings/tokens/abc/revoke`);
		assert.equal(r.status, 404);
		assert.ok((await list()).get(gone.id).revoked_at > 0);

		// expiry on the test clock
		inst.advance(DAY);
		r = await api('GET', `/api/v1/w/${wsA}/whoami`, short.token);
		assert.equal(r.status, 401);
		assert.equal(envelope(r).code, 'invalid_token');
		issued.push(short.token, gone.token, gone2.token);
		// the day also ended the sessions (idle limit): new ones for the tests that follow
		owner = await c.session('owner@example.test');
		viewer = await c.session('viewer@example.test');
	});

	test('the CLI creates, lists and revokes tokens; a running server uses them at once', async () => {
		// refusals: not a member, a role above the member's, bad flags
		let r = await inst.cli(['workspace', 'token', 'create', '--workspace', String(wsB), '--account', 'viewer@example.test', '--name', 'x', '--role', 'viewer']);
		assert.equal(r.code, 1);
		assert.match(r.stderr, /not a member of workspace/);
		r = await inst.cli(['workspace', 'token', 'create', '--workspace', String(wsA), '--account', 'viewer@example.test', '--name', 'x', '--role', 'member']);
		assert.equal(r.code, 2);
		assert.match(r.stderr, /above the viewer role/);
		r = await inst.cli(['workspace', 'token', 'create', '--workspace', String(wsA), '--account', 'owner@example.test', '--name', 'x', '--role', 'owner']);
		assert.equal(r.code, 2);
		r = await inst.cli(['workspace', 'token', 'create', '--workspace', 'abc', '--account', 'owner@example.test', '--name', 'x', '--role', 'viewer']);
		assert.equal(r.code, 2);
		// made by the CLI for the viewer
		const out = await inst.ok(['workspace', 'token', 'create', '--workspace', String(wsA), '--account', 'viewer@example.test', '--name', 'cli script', '--role', 'viewer', '--expires-days', '30']);
		const made = JSON.parse(out);
		issued.push(made.token);
		assert.match(made.token, /^dft_[A-Za-z0-9_-]{43}$/);
		assert.equal(made.display_prefix, made.token.slice(0, 12));
		assert.equal(made.expires_at, inst.now() + 30 * DAY);
		r = await api('GET', `/api/v1/w/${wsA}/whoami`, made.token);
		assert.equal(r.status, 200);
		assert.deepEqual(JSON.parse(r.text), { workspace_id: wsA, role: 'viewer', via: 'token' });
		// listed (text and JSON), never with the token
		const text = await inst.ok(['workspace', 'token', 'list', '--workspace', String(wsA)]);
		assert.match(text, /^ID\tNAME\tPREFIX\tROLE\tCREATED BY/);
		assert.ok(text.includes(`${made.id}\tcli script\t${made.display_prefix}\tviewer\tviewer person\t`));
		assert.ok(!text.includes(made.token));
		const json = JSON.parse(await inst.ok(['workspace', 'token', 'list', '--workspace', String(wsA), '--json']));
		assert.equal(json.find((t) => t.id === made.id).name, 'cli script');
		// revoked by the CLI: refused at once
		assert.match(await inst.ok(['workspace', 'token', 'revoke', '--workspace', String(wsA), '--id', String(made.id)]), /^revoked dft_/);
		r = await api('GET', `/api/v1/w/${wsA}/whoami`, made.token);
		assert.equal(r.status, 401);
		r = await inst.cli(['workspace', 'token', 'revoke', '--workspace', String(wsA), '--id', String(made.id)]);
		assert.equal(r.code, 1);
		const rows = await auditRows(inst, wsA);
		assert.ok(rows.some((x) => x.action === 'apitoken.created' && x.target === made.display_prefix && x.actor.kind === 'cli'));
		assert.ok(rows.some((x) => x.action === 'apitoken.revoked' && x.target === made.display_prefix && x.actor.kind === 'cli'));
	});

	test('the token text is in no audit entry, no log line and no page after creation', async () => {
		assert.ok(issued.length >= 5);
		const rows = await auditRows(inst, wsA);
		const created = rows.filter((r) => r.action === 'apitoken.created');
		const revoked = rows.filter((r) => r.action === 'apitoken.revoked');
		assert.ok(created.length >= 5, `created entries: ${created.length}`);
		assert.equal(revoked.length, 3); // API, page, CLI
		for (const r of created) assert.match(r.target, /^dft_[A-Za-z0-9_-]{8}$/);
		// what a token did names the token; its creator is the actor
		const byToken = created.filter((r) => JSON.stringify(r).includes(`"via_api_token_id":${adminTokId}`));
		assert.equal(byToken.length, 1, JSON.stringify(created.slice(0, 2)));
		assert.equal(byToken[0].actor.kind, 'account');
		assert.equal(byToken[0].actor.id, admin.id);
		const auditText = JSON.stringify(rows);
		const pages = [];
		for (const p of ['/settings/tokens', '/settings/audit', '', '/settings']) {
			const r = await c.as(owner).get(`/w/${wsA}${p}`);
			assert.equal(r.status, 200, p);
			pages.push(r.text);
		}
		const listed = await c.request('GET', `/api/v1/w/${wsA}/tokens`, { cookie: owner.cookie });
		pages.push(listed.text);
		const logs = srv.logs();
		assert.match(logs, /"route":"\/api\/v1\/w\/:ws\/whoami"/, 'the access log has the API requests (by pattern)');
		for (const t of issued) {
			assert.ok(!auditText.includes(t), 'token in the audit log');
			assert.ok(!logs.includes(t), 'token in the server log');
			assert.ok(!logs.includes(t.slice(4, 24)), 'part of a token in the server log');
			for (const p of pages) assert.ok(!p.includes(t), 'token on a page');
		}
	});

	test('a workspace that requires 2FA refuses a token whose creator has none', async () => {
		await c.set2fa('owner@example.test', true);
		let r = await c.as(owner).post(`/w/${wsB}/settings/security`, { require_2fa: 'on' });
		assert.equal(r.status, 303);
		r = await viaApi(owner, wsB, { name: '2fa', role: 'viewer' });
		assert.equal(r.status, 201, r.text);
		const tok = JSON.parse(r.text).token;
		assert.equal((await api('GET', `/api/v1/w/${wsB}/whoami`, tok)).status, 200);
		await c.set2fa('owner@example.test', false);
		r = await api('GET', `/api/v1/w/${wsB}/whoami`, tok);
		assert.equal(r.status, 403);
		assert.equal(envelope(r).code, '2fa_required');
		await c.set2fa('owner@example.test', true);
		r = await c.as(owner).post(`/w/${wsB}/settings/security`, {});
		assert.equal(r.status, 303);
		await c.set2fa('owner@example.test', false);
		assert.equal((await api('GET', `/api/v1/w/${wsB}/whoami`, tok)).status, 200);
	});

	test('a workspace holds at most 100 live tokens', async () => {
		const l = await c.request('GET', `/api/v1/w/${wsB}/tokens`, { cookie: owner.cookie });
		const liveBefore = JSON.parse(l.text).tokens.filter((t) => t.revoked_at === null).length;
		const ids = [];
		for (let i = 0; ; i++) {
			const r = await viaApi(owner, wsB, { name: `bulk ${i}`, role: 'viewer' });
			if (r.status === 409) {
				assert.equal(envelope(r).code, 'too_many_tokens');
				break;
			}
			assert.equal(r.status, 201, r.text);
			ids.push(JSON.parse(r.text).id);
			assert.ok(i < 100, 'the cap holds');
		}
		assert.equal(liveBefore + ids.length, 100);
		const r = await c.request('POST', `/api/v1/w/${wsB}/tokens/${ids[0]}/revoke`, { cookie: owner.cookie, headers: { 'x-csrf-token': owner.csrf, origin: srv.url } });
		assert.equal(r.status, 200);
		assert.equal((await viaApi(owner, wsB, { name: 'one more', role: 'viewer' })).status, 201);
	});

	test('bad tokens from one address are limited (429 with Retry-After)', async () => {
		let r;
		for (let i = 0; i < 40; i++) {
			r = await api('GET', `/api/v1/w/${wsA}/whoami`, `dft_${String(i).padStart(43, 'Q')}`);
			if (r.status === 429) break;
			assert.equal(r.status, 401);
		}
		assert.equal(r.status, 429);
		assert.equal(envelope(r).code, 'rate_limited');
		assert.ok(Number(r.headers.get('retry-after')) >= 1);
		// sessions are not affected
		assert.equal((await c.as(viewer).get(`/api/v1/w/${wsA}/whoami`)).status, 200);
	});
}

describe('API tokens on SQLite', () => suite('sqlite'));
describe('API tokens on PostgreSQL', { skip: PG_SKIP }, () => suite('pg'));

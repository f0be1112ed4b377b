// The workspace's browser-privacy settings (src/ingest/ingest_config.h, migration 0010):
// the keys page form (owners and admins only, audited), GET /v1/config for the SDK (public,
// CORS, cacheable, unknown keys charged to the per-IP limit, sk_ refused), and the server
// side of consent mode: on a consent-required workspace a pk_ batch without "consent": true
// is dropped with code no_consent, with it the events are stored; sk_ is exempt.
// SQLite and PostgreSQL.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { PG_SKIP, account, auditRows, client, installation, join, serve, workspace } from './wslib.mjs';
import { flushIngest } from './lib.mjs';

// Rows from the installation's database, bypassing the app (sqlite3 CLI, or psql as admin).
function rows(inst, sql) {
	if (inst.env.DROPFIX_DATABASE_URL) {
		const admin = new URL(process.env.DROPFIX_TEST_PG_ADMIN_URL);
		admin.pathname = new URL(inst.env.DROPFIX_DATABASE_URL).pathname;
		const out = execFileSync('/usr/lib/postgresql/15/bin/psql', ['-X', '-q', '-t', '-A', admin.toString(), '-c', `SELECT coalesce(json_agg(t), '[]') FROM (${sql}) t`]);
		return JSON.parse(out.toString());
	}
	const out = execFileSync('sqlite3', ['-cmd', '.timeout 5000', '-json', inst.db, sql]).toString().trim();
	return out ? JSON.parse(out) : [];
}

async function batch(srv, key, names, extra = {}, headers = {}) {
	const r = await fetch(srv.url + '/v1/batch', {
		method: 'POST',
		headers: { 'content-type': 'text/plain', ...headers },
		body: JSON.stringify({ key, batch: names.map((name) => ({ type: 'track', anonymous_id: 'anon-1', name })), ...extra }),
	});
	const out = { status: r.status, json: await r.json() };
	if (r.status === 200) await flushIngest(srv);
	return out;
}

for (const backend of ['sqlite', 'pg']) {
	describe(`ingestion privacy settings (${backend})`, { skip: backend === 'pg' && PG_SKIP, concurrency: false }, () => {
		let inst, srv, c, owner, ws, other;
		before(async () => {
			inst = await installation({ pg: backend === 'pg' });
			await account(inst, 'owner@example.test');
			await account(inst, 'member@example.test');
			ws = await workspace(inst, 'owner@example.test', 'Private');
			other = await workspace(inst, 'owner@example.test', 'Other');
			srv = await serve(inst);
			c = client(srv);
			owner = await c.session('owner@example.test');
		});
		after(async () => {
			await srv?.stop();
			inst?.drop();
		});
		const config = async (key) => {
			const r = await fetch(`${srv.url}/v1/config?key=${encodeURIComponent(key)}`, { headers: { origin: 'https://app.example' } });
			return { status: r.status, headers: r.headers, json: await r.json() };
		};
		const names = (id) => rows(inst, `SELECT name FROM events WHERE workspace_id = ${id} ORDER BY id`).map((r) => r.name);

		test('GET /v1/config: both off by default, public, CORS, cacheable for 60 s', async () => {
			const r = await config(ws.public_key);
			assert.equal(r.status, 200);
			assert.deepEqual(r.json, { consent_required: false, honor_dnt: false });
			assert.equal(r.headers.get('access-control-allow-origin'), '*');
			assert.equal(r.headers.get('cache-control'), 'public, max-age=60');
			assert.equal(r.headers.get('set-cookie'), null);
		});

		test('the keys page: the owner turns both on; audited; /v1/config and ingestion see it at once', async () => {
			let page = await c.as(owner).get(`/w/${ws.id}/settings/keys`);
			assert.equal(page.status, 200);
			assert.match(page.text, /name="consent_required" value="on">/);
			assert.match(page.text, /name="honor_dnt" value="on">/);
			const r = await c.as(owner).post(`/w/${ws.id}/settings/keys/privacy`, { consent_required: 'on', honor_dnt: 'on' });
			assert.equal(r.status, 200, r.text);
			assert.match(r.text, /Privacy settings saved/);
			page = await c.as(owner).get(`/w/${ws.id}/settings/keys`);
			assert.match(page.text, /name="consent_required" value="on" checked>/);
			assert.match(page.text, /name="honor_dnt" value="on" checked>/);
			const audit = await auditRows(inst, ws.id);
			for (const name of ['consent_required', 'honor_dnt'])
				assert.ok(audit.some((a) => a.action === 'settings.changed' && JSON.stringify(a).includes(name)), `${name} audited: ${JSON.stringify(audit.slice(0, 3))}`);
			assert.deepEqual((await config(ws.public_key)).json, { consent_required: true, honor_dnt: true });
			assert.deepEqual((await config(other.public_key)).json, { consent_required: false, honor_dnt: false }, 'per workspace');
		});

		test('a member (not admin) cannot change the settings and sees no form', async () => {
			const member = await join(inst, srv, c, owner, ws.id, 'member@example.test', 'member');
			const page = await c.as(member).get(`/w/${ws.id}/settings/keys`);
			assert.equal(page.status, 200);
			assert.doesNotMatch(page.text, /settings\/keys\/privacy/);
			assert.match(page.text, /Consent is required/);
			const r = await c.as(member).post(`/w/${ws.id}/settings/keys/privacy`, {});
			assert.equal(r.status, 403);
			assert.deepEqual((await config(ws.public_key)).json, { consent_required: true, honor_dnt: true }, 'unchanged');
		});

		test('consent required: a pk_ batch without the consent flag is dropped as no_consent; with it stored; sk_ exempt', async () => {
			let r = await batch(srv, ws.public_key, ['no flag 1', 'no flag 2']);
			assert.equal(r.status, 400, JSON.stringify(r.json));
			assert.equal(r.json.error.code, 'no_consent');
			assert.equal(r.json.accepted, 0);
			assert.deepEqual(r.json.dropped.map((d) => [d.index, d.code]), [[0, 'no_consent'], [1, 'no_consent']]);
			r = await batch(srv, ws.public_key, ['flag false'], { consent: false });
			assert.equal(r.status, 400);
			r = await batch(srv, ws.public_key, ['with consent'], { consent: true });
			assert.equal(r.status, 200, JSON.stringify(r.json));
			assert.equal(r.json.accepted, 1);
			r = await batch(srv, ws.secret_key, ['server side']);
			assert.equal(r.status, 200, 'sk_ is exempt');
			r = await batch(srv, other.public_key, ['other workspace']);
			assert.equal(r.status, 200, 'a workspace without consent mode');
			assert.deepEqual(names(ws.id), ['with consent', 'server side'], 'nothing stored without consent');
		});

		test('turning consent off again: pk_ batches without the flag are stored', async () => {
			const r0 = await c.as(owner).post(`/w/${ws.id}/settings/keys/privacy`, {});
			assert.equal(r0.status, 200);
			assert.deepEqual((await config(ws.public_key)).json, { consent_required: false, honor_dnt: false });
			const r = await batch(srv, ws.public_key, ['after consent mode']);
			assert.equal(r.status, 200, JSON.stringify(r.json));
		});

		test('/v1/config refuses a secret key, and unknown keys count against the per-IP limit', async () => {
			let r = await config(ws.secret_key);
			assert.equal(r.status, 403);
			assert.equal(r.json.error.code, 'secret_key_in_browser');
			assert.equal(r.headers.get('access-control-allow-origin'), '*');
			r = await fetch(`${srv.url}/v1/config`);
			assert.equal(r.status, 401);
			const unknown = 'pk_' + 'Q'.repeat(43);
			let last;
			for (let i = 0; i < 61; i++) last = await config(unknown);
			assert.equal(last.status, 429, JSON.stringify(last.json));
			assert.equal(last.json.error.code, 'rate_limited');
			assert.ok(Number(last.headers.get('retry-after')) >= 1);
			assert.equal(last.headers.get('access-control-allow-origin'), '*');
			inst.advance(5000);
			r = await config(ws.public_key);
			assert.equal(r.status, 200, 'refilled');
		});
	});
}

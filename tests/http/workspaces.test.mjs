// Workspaces through the real binary (SQLite and PostgreSQL, test build): `dropfix workspace create`
// JSON and keys (usable at once, authenticating nothing but ingestion), creation in the
// dashboard (field errors keep what was typed, the secret key shown once), settings with
// flash messages and role checks, required 2FA, key rotation with its overlap (fake
// clock), deletion by the owner after typing the name (cascade + installation audit).
// Sessions come from the test-build hook POST /__test/session; members join through the
// real invitation pages.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { PG_SKIP, account, auditRows, client, installation, join, mainText, serve, workspace } from './wslib.mjs';

const HOUR = 3600 * 1000;
const KEY = /^(pk|sk)_[A-Za-z0-9_-]{43}$/;

function suite(backend) {
	let inst, srv, c, ws, owner, admin, member, viewer;
	const seen = new Set();

	before(async () => {
		inst = await installation({ pg: backend === 'pg' });
		for (const who of ['owner', 'admin', 'member', 'viewer', 'outsider']) await account(inst, `${who}@example.test`, `${who} person`);
		ws = await workspace(inst, 'owner@example.test', 'Acme', ['--timezone', 'Europe/Berlin', '--currency', 'EUR']);
		srv = await serve(inst);
		c = client(srv);
		owner = await c.session('owner@example.test');
		admin = await join(inst, srv, c, owner, ws.id, 'admin@example.test', 'admin', seen);
		member = await join(inst, srv, c, owner, ws.id, 'member@example.test', 'member', seen);
		viewer = await join(inst, srv, c, owner, ws.id, 'viewer@example.test', 'viewer', seen);
	});
	after(async () => {
		if (srv) {
			const { code } = await srv.stop();
			assert.equal(code, 0, srv.logs());
		}
		inst?.drop();
	});

	test('workspace create prints one JSON object; its keys work at once and authenticate nothing else', async () => {
		const r = await inst.cli(['workspace', 'create', '--owner', 'outsider@example.test', '--name', 'Solo']);
		assert.equal(r.code, 0, r.stderr);
		const lines = r.stdout.split('\n').filter(Boolean);
		assert.equal(lines.length, 1, `exactly one line: ${r.stdout}`);
		const j = JSON.parse(lines[0]);
		assert.deepEqual(Object.keys(j).sort(), ['id', 'public_key', 'secret_key']);
		assert.ok(Number.isSafeInteger(j.id) && j.id > 0);
		assert.match(j.public_key, KEY);
		assert.match(j.secret_key, KEY);
		assert.ok(j.public_key.startsWith('pk_') && j.secret_key.startsWith('sk_'));
		// the running server knows them at once (no cache)
		assert.deepEqual(await c.keycheck(j.public_key), { workspace_id: j.id, kind: 'pk' });
		assert.deepEqual(await c.keycheck(j.secret_key), { workspace_id: j.id, kind: 'sk' });
		assert.equal(await c.keycheck(j.secret_key.slice(0, -1) + (j.secret_key.endsWith('A') ? 'B' : 'A')), null);
		const mine = await c.session('outsider@example.test');
		const home = await c.as(mine).get(`/w/${j.id}`);
		assert.equal(home.status, 200);
		assert.ok(home.text.includes(j.public_key), 'home shows the public key');
		assert.ok(!home.text.includes(j.secret_key), 'home never shows the secret key');
		// the keys are not sessions, API tokens or CSRF tokens
		for (const k of [j.public_key, j.secret_key]) {
			let x = await c.get(`/w/${j.id}`, { cookie: `dropfix_session=${k}` });
			assert.equal(x.status, 303);
			assert.match(x.location, /^\/auth\/login/);
			x = await c.get(`/w/${j.id}`, { headers: { authorization: `Bearer ${k}` } });
			assert.equal(x.status, 303);
			assert.match(x.location, /^\/auth\/login/);
			x = await c.post(`/w/${j.id}/settings`, { name: 'x' }, { cookie: `dropfix_session=${k}; dropfix_csrf=${k}`, headers: { 'x-csrf-token': k } });
			assert.equal(x.status, 401);
			x = await c.get('/staff', { headers: { authorization: `Bearer ${k}` } });
			assert.notEqual(x.status, 200);
		}
		const list = await inst.ok(['workspace', 'list']);
		assert.match(list, new RegExp(`^${j.id}\\tSolo\\tUTC\\tUSD\\t1\\toutsider@example.test$`, 'm'));
		const listJson = JSON.parse(await inst.ok(['workspace', 'list', '--json']));
		assert.ok(listJson.some((w) => w.id === ws.id && w.timezone === 'Europe/Berlin' && w.currency === 'EUR' && w.members === 4));
		// neither key is stored in clear (database and WAL)
		for (const f of [inst.db, `${inst.db}-wal`]) {
			if (!fs.existsSync(f)) continue;
			const bytes = fs.readFileSync(f);
			assert.equal(bytes.indexOf(j.secret_key), -1, `secret key in ${f}`);
			assert.equal(bytes.indexOf(j.public_key), -1, `public key in ${f}`);
		}
		// audited, by the CLI
		const rows = await auditRows(inst);
		assert.ok(rows.some((row) => row.action === 'workspace.created' && row.workspace_id === j.id && row.actor.kind === 'cli'));
	});

	test('workspace create refuses bad input with a usage error', async () => {
		let r = await inst.cli(['workspace', 'create', '--owner', 'owner@example.test', '--name', 'X', '--timezone', '../../etc/passwd']);
		assert.equal(r.code, 2);
		assert.match(r.stderr, /--timezone/);
		r = await inst.cli(['workspace', 'create', '--owner', 'owner@example.test', '--name', 'X', '--timezone', 'Mars/Olympus']);
		assert.equal(r.code, 2);
		r = await inst.cli(['workspace', 'create', '--owner', 'owner@example.test', '--name', 'X', '--currency', 'XYZ']);
		assert.equal(r.code, 2);
		r = await inst.cli(['workspace', 'create', '--owner', 'owner@example.test', '--name', 'bad\x07name']);
		assert.equal(r.code, 2);
		r = await inst.cli(['workspace', 'create', '--owner', 'nobody@example.test', '--name', 'X']);
		assert.equal(r.code, 1);
		assert.match(r.stderr, /no account/);
		assert.equal(r.stdout, '');
		r = await inst.cli(['workspace', 'create', '--name', 'X']);
		assert.equal(r.code, 2);
	});

	test('creating in the dashboard: errors keep what was typed; the secret key is shown once', async () => {
		const me = c.as(member);
		let r = await me.post('/w', { name: 'Side <project>', product_name: 'Thing', timezone: 'Mars/Base', currency: 'EUR' });
		assert.equal(r.status, 400);
		assert.ok(r.text.includes('value="Side &lt;project&gt;"'), 'the typed name is kept (escaped)');
		assert.ok(r.text.includes('value="Thing"'));
		assert.match(mainText(r.text), /Choose a time zone from the list/);
		assert.match(r.text, /<option value="EUR" selected>/);
		assert.match(r.text, /aria-describedby="ws-timezone-hint ws-timezone-error" aria-invalid="true"/);
		r = await me.post('/w', { name: '', timezone: 'UTC', currency: 'USD' });
		assert.equal(r.status, 400);
		assert.match(mainText(r.text), /Enter a name/);
		r = await me.post('/w', { name: 'Side project', timezone: 'America/New_York', currency: 'EUR', product_name: '' });
		assert.equal(r.status, 200, mainText(r.text));
		const pk = r.text.match(/pk_[A-Za-z0-9_-]{43}/)[0];
		const sk = r.text.match(/sk_[A-Za-z0-9_-]{43}/)[0];
		const created = await c.keycheck(sk);
		assert.equal(created.kind, 'sk');
		assert.deepEqual(await c.keycheck(pk), { workspace_id: created.workspace_id, kind: 'pk' });
		const keys = await me.get(`/w/${created.workspace_id}/settings/keys`);
		assert.equal(keys.status, 200);
		assert.ok(keys.text.includes(pk));
		assert.ok(!keys.text.includes(sk), 'the secret key is not shown again');
		assert.ok(keys.text.includes(sk.slice(0, 11)), 'its prefix identifies it');
		// unknown form fields are refused (strict binding)
		r = await me.post('/w', { name: 'x', timezone: 'UTC', currency: 'USD', is_admin: '1' });
		assert.equal(r.status, 400);
		const rows = await auditRows(inst);
		assert.ok(rows.some((row) => row.action === 'workspace.created' && row.workspace_id === created.workspace_id && row.actor.kind === 'account' && row.actor.id === member.id));
	});

	test('settings: saved with a flash message; viewers and members get 403; changes audited', async () => {
		let r = await c.as(owner).post(`/w/${ws.id}/settings`, { name: 'Acme Inc', product_name: 'Acme App', timezone: 'Asia/Kolkata', currency: 'INR' });
		assert.equal(r.status, 303);
		assert.equal(r.location, `/w/${ws.id}/settings`);
		const flash = r.setCookie.find((x) => x.startsWith('dropfix_flash='));
		assert.ok(flash, 'flash cookie set');
		assert.match(flash, /^dropfix_flash=\d+;.*HttpOnly/);
		const flashCookie = flash.split(';')[0];
		r = await c.get(`/w/${ws.id}/settings`, { cookie: `${owner.cookie}; ${flashCookie}` });
		assert.equal(r.status, 200);
		assert.match(mainText(r.text), /Workspace settings saved\./);
		assert.ok(r.setCookie.some((x) => /^dropfix_flash=;.*Max-Age=0/.test(x)), 'flash cleared');
		assert.ok(r.text.includes('value="Acme Inc"'));
		assert.match(r.text, /<option value="Asia\/Kolkata" selected>/);
		// a forged flash cookie shows nothing (ids only, never text)
		for (const v of ['999', '<script>alert(1)</script>', '0', '-1', '2x']) {
			r = await c.get(`/w/${ws.id}/settings`, { cookie: `${owner.cookie}; dropfix_flash=${encodeURIComponent(v)}` });
			assert.equal(r.status, 200);
			assert.ok(!/class="flash /.test(r.text), `no flash for ${v}`);
		}
		// everyone may read; only owners and admins may save
		for (const s of [viewer, member]) {
			r = await c.as(s).get(`/w/${ws.id}/settings`);
			assert.equal(r.status, 200);
			assert.match(mainText(r.text), /can read these settings/);
			r = await c.as(s).post(`/w/${ws.id}/settings`, { name: 'Hijacked', product_name: '', timezone: 'UTC', currency: 'USD' });
			assert.equal(r.status, 403);
			r = await c.as(s).post(`/w/${ws.id}/settings/security`, { require_2fa: 'on' });
			assert.equal(r.status, 403);
		}
		r = await c.as(admin).post(`/w/${ws.id}/settings`, { name: 'Acme', product_name: 'Acme App', timezone: 'Asia/Kolkata', currency: 'INR' });
		assert.equal(r.status, 303);
		r = await c.as(admin).post(`/w/${ws.id}/settings`, { name: 'x'.repeat(101), product_name: '', timezone: 'UTC', currency: 'USD' });
		assert.equal(r.status, 400);
		assert.match(mainText(r.text), /at most 100 characters/);
		const rows = await auditRows(inst, ws.id);
		const changes = rows.filter((row) => row.action === 'settings.changed' && row.target === 'workspace');
		assert.equal(changes.length, 2);
		assert.deepEqual(changes[1].detail.changed, ['name', 'product_name', 'timezone', 'currency']);
		assert.deepEqual(changes[0].detail.changed, ['name']);
		assert.equal(changes[0].actor.id, admin.id);
		const list = JSON.parse(await inst.ok(['workspace', 'list', '--json']));
		assert.equal(list.find((w) => w.id === ws.id).name, 'Acme');
	});

	test('a workspace that requires 2FA refuses members without it', async () => {
		let r = await c.as(owner).post(`/w/${ws.id}/settings/security`, { require_2fa: 'on' });
		assert.equal(r.status, 400, 'an owner without 2FA cannot lock themselves out');
		assert.match(mainText(r.text), /Turn on two-factor authentication for your own account first/);
		await c.set2fa('owner@example.test', true);
		r = await c.as(owner).post(`/w/${ws.id}/settings/security`, { require_2fa: 'on' });
		assert.equal(r.status, 303);
		r = await c.as(member).get(`/w/${ws.id}`);
		assert.equal(r.status, 403);
		assert.match(mainText(r.text), /requires two-factor authentication/);
		r = await c.as(member).post(`/w/${ws.id}/settings/team/leave`);
		assert.equal(r.status, 403);
		await c.set2fa('member@example.test', true);
		r = await c.as(member).get(`/w/${ws.id}`);
		assert.equal(r.status, 200);
		await c.set2fa('member@example.test', false);
		r = await c.as(member).get(`/w/${ws.id}`);
		assert.equal(r.status, 403, 'checked on every request');
		r = await c.as(owner).post(`/w/${ws.id}/settings/security`, {});
		assert.equal(r.status, 303);
		r = await c.as(member).get(`/w/${ws.id}`);
		assert.equal(r.status, 200);
		const rows = await auditRows(inst, ws.id);
		assert.deepEqual(rows.filter((row) => row.target === 'require_2fa').map((row) => row.detail.require_2fa), [false, true]);
	});

	test('key rotation: admins only; the old secret key works 24 h, the old public key 7 days', async () => {
		let r = await c.as(member).post(`/w/${ws.id}/settings/keys/rotate`, { kind: 'sk' });
		assert.equal(r.status, 403);
		r = await c.as(member).get(`/w/${ws.id}/settings/keys`);
		assert.equal(r.status, 200);
		assert.ok(!r.text.includes('/settings/keys/rotate'), 'no rotation form for members');
		r = await c.as(admin).post(`/w/${ws.id}/settings/keys/rotate`, { kind: 'sk' });
		assert.equal(r.status, 200);
		const sk2 = r.text.match(/sk_[A-Za-z0-9_-]{43}/)[0];
		assert.notEqual(sk2, ws.secret_key);
		assert.match(mainText(r.text), /shown only this once/);
		r = await c.as(admin).post(`/w/${ws.id}/settings/keys/rotate`, { kind: 'pk' });
		assert.equal(r.status, 200);
		const pk2 = r.text.match(/<code class="key">(pk_[A-Za-z0-9_-]{43})<\/code>/)[1];
		assert.notEqual(pk2, ws.public_key);
		r = await c.as(admin).post(`/w/${ws.id}/settings/keys/rotate`, { kind: 'xx' });
		assert.equal(r.status, 400);
		for (const k of [ws.secret_key, sk2, ws.public_key, pk2]) assert.ok(await c.keycheck(k), `${k.slice(0, 3)} live`);
		inst.advance(23 * HOUR);
		assert.ok(await c.keycheck(ws.secret_key), 'old sk still valid after 23 h');
		inst.advance(2 * HOUR);
		assert.equal(await c.keycheck(ws.secret_key), null, 'old sk expired after 24 h');
		assert.ok(await c.keycheck(sk2));
		assert.ok(await c.keycheck(ws.public_key), 'old pk in its grace period');
		inst.advance(6 * 24 * HOUR);
		assert.equal(await c.keycheck(ws.public_key), null, 'old pk expired after 7 days');
		assert.ok(await c.keycheck(pk2));
		const rows = await auditRows(inst, ws.id);
		assert.deepEqual(rows.filter((row) => row.action === 'keys.rotated').map((row) => row.target), ['pk', 'sk']);
		ws.secret_key = sk2;
		ws.public_key = pk2;
	});

	test('deletion: owners only, after typing the name; everything goes at once; audited', async () => {
		// the clock moved on a week: sessions ended; sign in again
		[owner, admin, member, viewer] = await Promise.all(
			['owner', 'admin', 'member', 'viewer'].map((w) => c.session(`${w}@example.test`)));
		// some data in the workspace: a pending invite, audit rows, members, keys
		let r = await c.as(owner).post(`/w/${ws.id}/settings/team/invite`, { email: 'later@example.test', role: 'member' });
		assert.equal(r.status, 303);
		const before = await c.rows(ws.id);
		assert.equal(before.workspaces, 1);
		assert.equal(before.memberships, 4);
		assert.ok(before.invites >= 1 && before.workspace_keys >= 2 && before.workspace_audit > 5, JSON.stringify(before));
		for (const s of [admin, member, viewer]) {
			assert.equal((await c.as(s).get(`/w/${ws.id}/settings/delete`)).status, 403);
			assert.equal((await c.as(s).post(`/w/${ws.id}/settings/delete`, { confirm: 'Acme' })).status, 403);
		}
		r = await c.as(owner).get(`/w/${ws.id}/settings/delete`);
		assert.equal(r.status, 200);
		r = await c.as(owner).post(`/w/${ws.id}/settings/delete`, { confirm: 'acme' });
		assert.equal(r.status, 400);
		assert.ok(r.text.includes('value="acme"'));
		assert.equal((await c.rows(ws.id)).workspaces, 1);
		r = await c.as(owner).post(`/w/${ws.id}/settings/delete`, { confirm: ' Acme ' });
		assert.equal(r.status, 303);
		assert.equal(r.location, '/w');
		const afterRows = await c.rows(ws.id);
		assert.deepEqual(afterRows, { workspaces: 0, memberships: 0, invites: 0, workspace_keys: 0, api_tokens: 0, jobs: 0, retired: 1, workspace_audit: 0, workspace_secrets: 0 });
		assert.equal(await c.keycheck(ws.secret_key), null);
		assert.equal(await c.keycheck(ws.public_key), null);
		for (const s of [owner, admin, viewer]) assert.equal((await c.as(s).get(`/w/${ws.id}`)).status, 404);
		r = await c.get('/w', { cookie: `${owner.cookie}; ${r.setCookie[0].split(';')[0]}` });
		assert.match(mainText(r.text), /The workspace and all its data were deleted\./);
		const rows = await auditRows(inst);
		const del = rows.find((row) => row.action === 'workspace.deleted');
		assert.ok(del, 'deletion in the installation log');
		assert.equal(del.workspace_id, ws.id);
		assert.equal(del.target, 'Acme');
		assert.equal(del.actor.id, owner.id);
		const v = await inst.cli(['audit', 'verify']);
		assert.equal(v.code, 0, v.stdout + v.stderr);
		// the id is never reused: a new workspace gets another one and inherits nothing
		const again = await workspace(inst, 'owner@example.test', 'Acme');
		assert.notEqual(again.id, ws.id);
		const fresh = await c.rows(again.id);
		assert.equal(fresh.memberships, 1);
		assert.equal(fresh.invites, 0);
		assert.equal(fresh.workspace_audit, 0);
	});
}

describe('workspaces on SQLite', () => suite('sqlite'));
describe('workspaces on PostgreSQL', { skip: PG_SKIP }, () => suite('pg'));

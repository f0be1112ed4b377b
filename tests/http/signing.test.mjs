// Signed identify and tracked users' private traits (issue 5 items 5–6; ASan test build,
// SQLite and PostgreSQL): the published vectors in every language the install page shows,
// the keys-page setting (admin only, audited), valid / stale / future / forged /
// replayed-with-other-traits signatures, unsigned identify when signing is required, the
// attribution rule for browser events, both live sk_ keys during a rotation, sealed name
// and e-mail (absent from the database files) and the blind-index lookup by e-mail.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { flushIngest, runBin } from './lib.mjs';
import { PG, PG_SKIP, account, auditRows, client, installation, join, serve, workspace } from './wslib.mjs';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');

function vectors() {
	const md = fs.readFileSync(path.join(ROOT, 'docs/signed-identify.md'), 'utf8');
	const m = md.match(/## Test vectors[\s\S]*?```json\n([\s\S]*?)```/);
	assert.ok(m, 'docs/signed-identify.md has a json block of vectors');
	return JSON.parse(m[1]);
}

// The five server snippets of docs/signed-identify.md ("## Server snippets"), in order
// Node, Python, Ruby, PHP, Go.
function snippets() {
	const md = fs.readFileSync(path.join(ROOT, 'docs/signed-identify.md'), 'utf8');
	const part = md.slice(md.indexOf('## Server snippets'), md.indexOf('## Tracked users'));
	return [...part.matchAll(/```[a-z]+\n([\s\S]*?)```/g)].map((m) => m[1].trimEnd());
}

const unescape = (h) => h.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&#x27;/g, "'").replace(/&amp;/g, '&');

function sign(sk, userId, signedAt, { email = '', plan = '', mrr = null, trial_ends = '' } = {}) {
	const msg = ['v1', userId, signedAt, email, plan, mrr === null ? '' : mrr, trial_ends].join('\n');
	return crypto.createHmac('sha256', sk).update(msg, 'utf8').digest('hex');
}

describe('published test vectors', () => {
	const vs = vectors();
	const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dropfix-sign-')), 'vectors.json');
	fs.writeFileSync(file, JSON.stringify(vs));
	test('at least 3 vectors, reproduced by the reference function', () => {
		assert.ok(vs.length >= 3);
		for (const v of vs) assert.equal(sign(v.secret, v.user_id, v.signed_at, v), v.hash);
		// a changed trait changes the hash (the vectors are not trivially satisfied)
		assert.notEqual(sign(vs[0].secret, vs[0].user_id, vs[0].signed_at, { ...vs[0], plan: 'enterprise' }), vs[0].hash);
	});
	const langs = [
		['node', [process.execPath, path.join(ROOT, 'tests/signing/sign.cjs')]],
		['python', ['python3', path.join(ROOT, 'tests/signing/sign.py')]],
		['ruby', ['ruby', path.join(ROOT, 'tests/signing/sign.rb')]],
		['php', ['php', path.join(ROOT, 'tests/signing/sign.php')]],
		['go', ['go', 'run', path.join(ROOT, 'tests/signing/sign.go')]],
	];
	for (const [name, [cmd, ...args]] of langs) {
		test(`the ${name} snippet matches every vector`, () => {
			const out = execFileSync(cmd, [...args, file], {
				env: { ...process.env, GOCACHE: path.join(os.tmpdir(), 'dropfix-gocache'), GOPATH: path.join(os.tmpdir(), 'dropfix-gopath'), GOFLAGS: '-mod=mod', GO111MODULE: 'off' },
				timeout: 120_000,
			}).toString();
			assert.match(out, new RegExp(`^${name} ok ${vs.length}`));
		});
	}
	test('docs snippets = the checked files (and the install page, below)', () => {
		const snips = snippets();
		assert.equal(snips.length, 5);
		const files = ['sign.cjs', 'sign.py', 'sign.rb', 'sign.php', 'sign.go'];
		snips.forEach((code, i) => {
			const src = fs.readFileSync(path.join(ROOT, 'tests/signing', files[i]), 'utf8');
			assert.ok(src.includes(code), `${files[i]} holds the documented snippet`);
		});
	});
});

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

async function batch(srv, key, events, headers = {}) {
	const r = await fetch(srv.url + '/v1/batch', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ key, batch: events }) });
	const out = { status: r.status, json: await r.json() };
	if (r.status === 200) await flushIngest(srv); // the aggregates follow the 200 by a few ms
	return out;
}

for (const backend of ['sqlite', 'pg']) {
	describe(`signed identify (${backend})`, { skip: backend === 'pg' && PG_SKIP, concurrency: false }, () => {
		let inst, srv, c, owner, ws, open;
		const nowS = () => Math.floor(inst.now() / 1000);
		before(async () => {
			inst = await installation({ pg: backend === 'pg' });
			await account(inst, 'owner@example.test');
			await account(inst, 'member@example.test');
			ws = await workspace(inst, 'owner@example.test', 'Signed');
			open = await workspace(inst, 'owner@example.test', 'Open');
			srv = await serve(inst);
			c = client(srv);
			owner = await c.session('owner@example.test');
		});
		after(async () => {
			if (process.env.SIGNING_DEBUG) console.error(srv?.logs());
			await srv?.stop();
			inst?.drop();
		});

		test('keys page: the owner requires signed identify; the change is audited', async () => {
			let page = await c.as(owner).get(`/w/${ws.id}/settings/keys`);
			assert.equal(page.status, 200);
			assert.match(page.text, /name="require_signed_identify" value="on">/);
			const r = await c.as(owner).post(`/w/${ws.id}/settings/keys/signing`, { require_signed_identify: 'on' });
			assert.equal(r.status, 200, r.text);
			page = await c.as(owner).get(`/w/${ws.id}/settings/keys`);
			assert.match(page.text, /name="require_signed_identify" value="on" checked>/);
			const audit = await auditRows(inst, ws.id);
			assert.ok(audit.some((a) => a.action === 'settings.changed' && JSON.stringify(a).includes('require_signed_identify')), JSON.stringify(audit.slice(0, 3)));
		});

		test('a member (not admin) cannot change the setting and sees no form', async () => {
			const member = await join(inst, srv, c, owner, ws.id, 'member@example.test', 'member');
			const page = await c.as(member).get(`/w/${ws.id}/settings/keys`);
			assert.equal(page.status, 200);
			assert.doesNotMatch(page.text, /settings\/keys\/signing/);
			assert.match(page.text, /Signed identify is required/);
			const r = await c.as(member).post(`/w/${ws.id}/settings/keys/signing`, {});
			assert.equal(r.status, 403);
			assert.match((await c.as(owner).get(`/w/${ws.id}/settings/keys`)).text, /value="on" checked>/);
		});

		test('a valid signature sets the traits; the e-mail is verified and sealed', async () => {
			const at = nowS();
			const traits = { name: 'Quentin Sealedname', email: 'Quentin.Signed@Example.COM', plan: 'pro', mrr: 4900 };
			const r = await batch(srv, ws.public_key, [
				{ type: 'identify', user_id: 'u-signed', anonymous_id: 'anon-1', traits: { ...traits, dropfix_hash: sign(ws.secret_key, 'u-signed', at, traits), dropfix_signed_at: at } },
			]);
			assert.equal(r.status, 200, JSON.stringify(r.json));
			assert.equal(r.json.accepted, 1);
			const [u] = rows(inst, `SELECT traits, email_verified, email_sealed, name_sealed FROM tracked_users WHERE workspace_id = ${ws.id} AND user_id = 'u-signed'`);
			const t = JSON.parse(u.traits);
			assert.equal(t.plan, 'pro');
			assert.equal(t.mrr, 4900);
			assert.equal(t.email, undefined);
			assert.equal(t.dropfix_hash, undefined);
			assert.equal(Number(u.email_verified), 1);
			assert.match(u.email_sealed, /^s1\./);
			assert.match(u.name_sealed, /^s1\./);
			const hist = rows(inst, `SELECT signed FROM tracked_user_traits WHERE workspace_id = ${ws.id} AND user_id = 'u-signed'`);
			assert.equal(hist.length, 1);
			const link = rows(inst, `SELECT user_id, signed FROM tracked_user_anon WHERE workspace_id = ${ws.id} AND anonymous_id = 'anon-1'`);
			assert.deepEqual(link.map((l) => [l.user_id, Number(l.signed)]), [['u-signed', 1]]);
		});

		test('the install page shows the five documented signing snippets', async () => {
			const page = await c.as(owner).get(`/w/${ws.id}/install`);
			assert.equal(page.status, 200);
			const text = unescape(page.text);
			for (const code of snippets()) assert.ok(text.includes(code), code.split('\n')[0]);
		});

		test('stale, future, forged and replayed-with-other-traits signatures are refused', async () => {
			const traits = { email: 'mallory@example.com', plan: 'pro', mrr: 100 };
			const at = nowS();
			const cases = [
				['stale', { ...traits, dropfix_hash: sign(ws.secret_key, 'u-x', at - 301, traits), dropfix_signed_at: at - 301 }, 'signature_expired'],
				['future', { ...traits, dropfix_hash: sign(ws.secret_key, 'u-x', at + 61, traits), dropfix_signed_at: at + 61 }, 'signature_in_future'],
				['forged', { ...traits, dropfix_hash: sign('sk_' + 'A'.repeat(43), 'u-x', at, traits), dropfix_signed_at: at }, 'invalid_signature'],
				['replayed plan', { ...traits, plan: 'enterprise', dropfix_hash: sign(ws.secret_key, 'u-x', at, traits), dropfix_signed_at: at }, 'invalid_signature'],
				['replayed mrr', { ...traits, mrr: 99999, dropfix_hash: sign(ws.secret_key, 'u-x', at, traits), dropfix_signed_at: at }, 'invalid_signature'],
				['replayed e-mail', { ...traits, email: 'ceo@example.com', dropfix_hash: sign(ws.secret_key, 'u-x', at, traits), dropfix_signed_at: at }, 'invalid_signature'],
				['other user', { ...traits, dropfix_hash: sign(ws.secret_key, 'u-other', at, traits), dropfix_signed_at: at }, 'invalid_signature'],
				['not hex', { ...traits, dropfix_hash: 'z'.repeat(64), dropfix_signed_at: at }, 'invalid_signature'],
			];
			for (const [what, t, code] of cases) {
				const r = await batch(srv, ws.public_key, [{ type: 'identify', user_id: 'u-x', traits: t }]);
				assert.equal(r.status, 400, what);
				assert.equal(r.json.dropped[0].code, code, what);
				assert.match(r.json.dropped[0].field, /^\/batch\/0\/traits\/dropfix_/, what);
			}
			// the boundaries themselves are accepted (5 min old, 1 min ahead)
			for (const d of [-300, 60]) {
				const r = await batch(srv, ws.public_key, [{ type: 'identify', user_id: 'u-x', traits: { ...traits, dropfix_hash: sign(ws.secret_key, 'u-x', at + d, traits), dropfix_signed_at: at + d } }]);
				assert.equal(r.status, 200, `offset ${d}: ${JSON.stringify(r.json)}`);
			}
			const plans = rows(inst, `SELECT traits FROM tracked_users WHERE workspace_id = ${ws.id} AND user_id = 'u-x'`).map((u) => JSON.parse(u.traits));
			assert.deepEqual(plans.map((t) => [t.plan, t.mrr]), [['pro', 100]]);
		});

		test('required: an unsigned identify cannot set traits; not required: accepted, e-mail unverified', async () => {
			const r = await batch(srv, ws.public_key, [{ type: 'identify', user_id: 'u-unsigned', anonymous_id: 'anon-u', traits: { email: 'u@example.com', plan: 'enterprise' } }]);
			assert.equal(r.status, 400);
			assert.equal(r.json.dropped[0].code, 'unsigned_identify');
			assert.equal(rows(inst, `SELECT user_id FROM tracked_users WHERE workspace_id = ${ws.id} AND user_id = 'u-unsigned'`).length, 0);
			assert.equal(rows(inst, `SELECT user_id FROM tracked_user_anon WHERE workspace_id = ${ws.id} AND anonymous_id = 'anon-u'`).length, 0);

			const o = await batch(srv, open.public_key, [{ type: 'identify', user_id: 'u-open', traits: { name: 'Olga Openname', email: 'Olga.Unsigned@example.org', plan: 'basic' } }]);
			assert.equal(o.status, 200, JSON.stringify(o.json));
			const look = await c.request('POST', '/__test/user-by-email', { json: { workspace_id: open.id, email: 'olga.unsigned@EXAMPLE.org' } });
			assert.equal(look.status, 200, look.text);
			const j = JSON.parse(look.text);
			assert.equal(j.user_id, 'u-open');
			assert.equal(j.email_verified, false);
			assert.equal(j.email, 'Olga.Unsigned@example.org');
			assert.equal(j.name, 'Olga Openname');
		});

		test('required: browser events count for a user only through a signed link of their anonymous id', async () => {
			const t0 = inst.now();
			const r = await batch(srv, ws.public_key, [
				{ type: 'track', name: 'Linked', anonymous_id: 'anon-1', user_id: 'attacker', message_id: 'att-1', timestamp: new Date(t0).toISOString() },
				{ type: 'track', name: 'Linked anon only', anonymous_id: 'anon-1', message_id: 'att-2', timestamp: new Date(t0).toISOString() },
				{ type: 'track', name: 'Declared', anonymous_id: 'anon-9', user_id: 'victim', message_id: 'att-3', timestamp: new Date(t0).toISOString() },
				{ type: 'track', name: 'Declared, no anon', user_id: 'victim', message_id: 'att-4', timestamp: new Date(t0).toISOString() },
			]);
			assert.equal(r.status, 200, JSON.stringify(r.json));
			assert.equal(r.json.accepted, 4);
			const ev = Object.fromEntries(rows(inst, `SELECT message_id, user_id FROM events WHERE workspace_id = ${ws.id} AND message_id LIKE 'att-%'`).map((e) => [e.message_id, e.user_id]));
			assert.deepEqual(ev, { 'att-1': 'u-signed', 'att-2': 'u-signed', 'att-3': null, 'att-4': null });
			assert.equal(rows(inst, `SELECT user_id FROM tracked_users WHERE workspace_id = ${ws.id} AND user_id IN ('attacker', 'victim')`).length, 0);
			// the server (sk_) is trusted with the user id it declares
			const s = await batch(srv, ws.secret_key, [{ type: 'track', name: 'Server', user_id: 'victim', message_id: 'att-5' }]);
			assert.equal(s.status, 200);
			assert.deepEqual(rows(inst, `SELECT user_id FROM events WHERE workspace_id = ${ws.id} AND message_id = 'att-5'`).map((e) => e.user_id), ['victim']);
			// on a workspace that does not require signing the declared id stands
			const o = await batch(srv, open.public_key, [{ type: 'track', name: 'X', user_id: 'declared', message_id: 'open-1' }]);
			assert.equal(o.status, 200);
			assert.deepEqual(rows(inst, `SELECT user_id FROM events WHERE workspace_id = ${open.id} AND message_id = 'open-1'`).map((e) => e.user_id), ['declared']);
		});

		test('during an sk_ rotation both live secret keys verify', async () => {
			const page = await c.as(owner).post(`/w/${ws.id}/settings/keys/rotate`, { kind: 'sk' });
			assert.equal(page.status, 200);
			const fresh = page.text.match(/<code class="key">(sk_[A-Za-z0-9_-]{43})<\/code>/)[1];
			assert.notEqual(fresh, ws.secret_key);
			const at = nowS();
			for (const [uid, sk] of [['u-old', ws.secret_key], ['u-new', fresh]]) {
				const t = { plan: 'team' };
				const r = await batch(srv, ws.public_key, [{ type: 'identify', user_id: uid, traits: { ...t, dropfix_hash: sign(sk, uid, at, t), dropfix_signed_at: at } }]);
				assert.equal(r.status, 200, `${uid}: ${JSON.stringify(r.json)}`);
			}
		});

		test('blind index: exact e-mail lookup, case-insensitive; name and e-mail absent from the database files', async () => {
			const look = await c.request('POST', '/__test/user-by-email', { json: { workspace_id: ws.id, email: '  quentin.signed@example.com ' } });
			assert.equal(look.status, 200, look.text);
			const j = JSON.parse(look.text);
			assert.deepEqual([j.user_id, j.email, j.name, j.email_verified], ['u-signed', 'Quentin.Signed@Example.COM', 'Quentin Sealedname', true]);
			const miss = await c.request('POST', '/__test/user-by-email', { json: { workspace_id: ws.id, email: 'quentin.signed@example.co' } });
			assert.equal(miss.status, 404);
			// the same e-mail is not found through another workspace (per-workspace index)
			const other = await c.request('POST', '/__test/user-by-email', { json: { workspace_id: open.id, email: 'quentin.signed@example.com' } });
			assert.equal(other.status, 404);
			if (backend === 'sqlite') {
				const needles = ['Quentin', 'Sealedname', 'quentin.signed', 'Olga', 'Openname', 'olga.unsigned'];
				for (const f of [inst.db, `${inst.db}-wal`]) {
					if (!fs.existsSync(f)) continue;
					const bytes = fs.readFileSync(f).toString('latin1').toLowerCase();
					for (const n of needles) assert.ok(!bytes.includes(n.toLowerCase()), `${n} found in ${path.basename(f)}`);
				}
				assert.ok(fs.existsSync(inst.db));
			}
		});

		test('master key rotation re-seals name and e-mail; the blind index still finds the user', async () => {
			await srv.stop();
			const env = { ...inst.env };
			if (env.DROPFIX_DATABASE_URL) { // maintenance commands connect as the BYPASSRLS role
				const u = new URL(env.DROPFIX_DATABASE_URL);
				u.username = process.env.DROPFIX_TEST_PG_MAINT || 'dropfix_maint';
				u.password = process.env.DROPFIX_TEST_PG_MAINT_PASSWORD || '';
				env.DROPFIX_DATABASE_URL = u.toString();
			}
			const r = await runBin(['keys', 'rotate'], { env });
			assert.equal(r.code, 0, r.stdout + r.stderr);
			srv = await serve(inst);
			c = client(srv);
			const before = rows(inst, `SELECT email_sealed FROM tracked_users WHERE workspace_id = ${ws.id} AND user_id = 'u-signed'`)[0].email_sealed;
			const look = await c.request('POST', '/__test/user-by-email', { json: { workspace_id: ws.id, email: 'QUENTIN.SIGNED@example.com' } });
			assert.equal(look.status, 200, look.text);
			const j = JSON.parse(look.text);
			assert.deepEqual([j.user_id, j.email, j.name], ['u-signed', 'Quentin.Signed@Example.COM', 'Quentin Sealedname']);
			// the value was re-sealed under key 2 (its key id is bytes 1..4 of the binary form)
			const bin = Buffer.from(before.slice(3), 'base64url');
			assert.equal(bin.readUInt32BE(1), 2);
		});
	});
}

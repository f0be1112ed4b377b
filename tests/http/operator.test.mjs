// Operators and the operator CLI through the real binary (SQLite, test build):
// `dropfix staff grant|revoke|list` (2FA status, last use), the /staff page refused to
// an operator without 2FA on every request and to non-operators, `dropfix account create`
// (password on standard input, 10–1,024 bytes, argon2id), `account reset-password` and
// `account disable-2fa` (sessions end, installation audit), "server busy, retry" while
// another process holds the SQLite writer, and control characters escaped in CLI output.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { account, auditRows, client, installation, mainText, serve, workspace } from './wslib.mjs';

const HAVE_SQLITE3 = (() => {
	try {
		execFileSync('sqlite3', ['-version']);
		return true;
	} catch {
		return false;
	}
})();
const sql = (db, q) => execFileSync('sqlite3', [db, q], { encoding: 'utf8' }).trim();

describe('operators and the operator CLI (SQLite)', () => {
	let inst, srv, c;

	before(async () => {
		inst = await installation();
		await account(inst, 'ops@example.test', 'Oscar Ops');
		await account(inst, 'founder@example.test', 'Fiona Founder');
		await workspace(inst, 'founder@example.test', 'Secret Customer Co');
		srv = await serve(inst);
		c = client(srv);
	});
	after(async () => {
		if (srv) {
			const { code } = await srv.stop();
			assert.equal(code, 0, srv.logs());
		}
	});

	test('staff grant/list/revoke; no operator powers without 2FA, checked on every request', async () => {
		const ops = await c.session('ops@example.test');
		let r = await c.as(ops).get('/staff');
		assert.equal(r.status, 403, 'not an operator yet');
		let out = await inst.ok(['staff', 'grant', 'ops@example.test']);
		assert.match(out, /^ops@example\.test is now an operator$/m);
		assert.match(out, /operator powers stay off until this account turns on two-factor authentication/);
		out = await inst.ok(['staff', 'grant', 'OPS@example.test']);
		assert.match(out, /was an operator already/);
		out = await inst.ok(['staff', 'list']);
		assert.match(out, /^ops@example\.test\tOscar Ops\toff \(no operator powers\)\tnever$/m);
		// the flag alone gives nothing
		r = await c.as(ops).get('/staff');
		assert.equal(r.status, 403);
		assert.match(mainText(r.text), /operator powers need two-factor authentication/);
		assert.ok(!/Operator<\/a>/.test((await c.as(ops).get('/w')).text), 'no operator link without 2FA');
		await c.set2fa('ops@example.test', true);
		r = await c.as(ops).get('/staff');
		assert.equal(r.status, 200);
		const count = (key) => Number(r.text.match(new RegExp(`data-key="${key}">(\\d+)<`))[1]);
		assert.equal(count('accounts'), 2);
		assert.equal(count('staff'), 1);
		assert.equal(count('workspaces'), 1);
		assert.ok(count('sessions') >= 1);
		assert.equal(count('jobs_dead'), 0);
		assert.ok(!r.text.includes('Secret Customer Co') && !r.text.includes('founder@example.test'), 'no customer data');
		assert.match((await c.as(ops).get('/w')).text, /href="\/staff"/);
		out = await inst.ok(['staff', 'list']);
		assert.match(out, /^ops@example\.test\tOscar Ops\ton\t2026-11-02T09:00:00\.000Z$/m, out);
		// 2FA off again: refused on the very next request
		await c.set2fa('ops@example.test', false);
		assert.equal((await c.as(ops).get('/staff')).status, 403);
		await c.set2fa('ops@example.test', true);
		assert.equal((await c.as(ops).get('/staff')).status, 200);
		out = await inst.ok(['staff', 'revoke', 'ops@example.test']);
		assert.match(out, /is no longer an operator/);
		assert.equal((await c.as(ops).get('/staff')).status, 403, 'revocation applies at once');
		out = await inst.ok(['staff', 'list']);
		assert.equal(out.trim(), 'EMAIL\tNAME\t2FA\tLAST USE');
		let bad = await inst.cli(['staff', 'grant', 'nobody@example.test']);
		assert.equal(bad.code, 1);
		bad = await inst.cli(['staff', 'grant']);
		assert.equal(bad.code, 2);
		bad = await inst.cli(['staff', 'promote', 'ops@example.test']);
		assert.equal(bad.code, 2);
		const rows = await auditRows(inst);
		assert.deepEqual(rows.filter((row) => row.action.startsWith('staff.')).map((row) => [row.action, row.target, row.actor.kind]), [
			['staff.flag_cleared', 'ops@example.test', 'cli'],
			['staff.flag_set', 'ops@example.test', 'cli'],
		]);
	});

	test('account create: password on standard input, 10 to 1,024 bytes, argon2id, verified', async () => {
		let r = await inst.cli(['account', 'create', '--email', 'short@example.test', '--name', 'Short'], '123456789');
		assert.equal(r.code, 2);
		assert.match(r.stderr, /10 to 1024 bytes/);
		r = await inst.cli(['account', 'create', '--email', 'long@example.test', '--name', 'Long'], 'x'.repeat(1025));
		assert.equal(r.code, 2);
		r = await inst.cli(['account', 'create', '--email', 'edge@example.test', '--name', 'Edge'], `${'y'.repeat(1024)}\n`);
		assert.equal(r.code, 0, r.stderr);
		r = await inst.cli(['account', 'create', '--email', 'ten@example.test', '--name', 'Ten'], '0123456789');
		assert.equal(r.code, 0, r.stderr);
		const made = JSON.parse(r.stdout);
		assert.equal(made.email, 'ten@example.test');
		assert.equal(made.verified, true);
		r = await inst.cli(['account', 'create', '--email', 'TEN@example.test', '--name', 'Again'], '0123456789');
		assert.equal(r.code, 1);
		assert.match(r.stderr, /exists already/);
		r = await inst.cli(['account', 'create', '--email', 'not-an-address', '--name', 'X'], '0123456789');
		assert.equal(r.code, 2);
		r = await inst.cli(['account', 'create', '--email', 'ctl@example.test', '--name', 'bad\x1bname'], '0123456789');
		assert.equal(r.code, 2);
		r = await inst.cli(['account', 'create', '--email', 'x@example.test'], '0123456789');
		assert.equal(r.code, 2);
		if (HAVE_SQLITE3) {
			const hashes = sql(inst.db, "SELECT password_hash FROM accounts WHERE email IN ('ten@example.test', 'edge@example.test')").split('\n');
			assert.equal(hashes.length, 2);
			for (const h of hashes) assert.ok(h.startsWith('$argon2id$'), h);
			assert.equal(sql(inst.db, "SELECT verified_at IS NOT NULL FROM accounts WHERE email = 'ten@example.test'"), '1');
		}
		const rows = await auditRows(inst);
		assert.ok(rows.some((row) => row.action === 'account.created' && row.target === 'ten@example.test' && row.actor.kind === 'cli'));
	});

	test('account reset-password and disable-2fa end every session and are audited', async () => {
		const s1 = await c.session('founder@example.test');
		const s2 = await c.session('founder@example.test');
		assert.equal((await c.as(s1).get('/w')).status, 200);
		const before = HAVE_SQLITE3 ? sql(inst.db, "SELECT password_hash FROM accounts WHERE email = 'founder@example.test'") : '';
		let r = await inst.cli(['account', 'reset-password', '--email', 'Founder@Example.test'], 'a brand new password');
		assert.equal(r.code, 0, r.stderr);
		assert.match(r.stdout, /password changed for founder@example\.test; every session of the account was signed out/);
		for (const s of [s1, s2]) {
			r = await c.as(s).get('/w');
			assert.equal(r.status, 303);
			assert.match(r.location, /^\/auth\/login/);
		}
		if (HAVE_SQLITE3) {
			const after = sql(inst.db, "SELECT password_hash FROM accounts WHERE email = 'founder@example.test'");
			assert.notEqual(after, before);
			assert.ok(after.startsWith('$argon2id$'));
		}
		r = await inst.cli(['account', 'reset-password', '--email', 'founder@example.test'], 'short');
		assert.equal(r.code, 2);
		r = await inst.cli(['account', 'reset-password', '--email', 'ghost@example.test'], 'long enough password');
		assert.equal(r.code, 1);
		// owner lock-out: 2FA lost
		await c.set2fa('founder@example.test', true);
		const s3 = await c.session('founder@example.test');
		r = await inst.cli(['account', 'disable-2fa', '--email', 'founder@example.test']);
		assert.equal(r.code, 0, r.stderr);
		assert.match(r.stdout, /two-factor authentication is off for founder@example\.test/);
		assert.equal((await c.as(s3).get('/w')).status, 303, 'signed out');
		if (HAVE_SQLITE3)
			assert.equal(sql(inst.db, "SELECT totp_sealed IS NULL AND recovery_codes IS NULL FROM accounts WHERE email = 'founder@example.test'"), '1');
		r = await inst.cli(['account', 'disable-2fa', '--email', 'founder@example.test']);
		assert.equal(r.code, 0);
		assert.match(r.stdout, /already off/);
		const rows = await auditRows(inst);
		const acts = rows.filter((row) => row.target === 'founder@example.test').map((row) => [row.action, row.actor.kind]);
		assert.deepEqual(acts.slice(0, 2), [
			['2fa.disabled', 'cli'],
			['auth.password_reset', 'cli'],
		]);
		const v = await inst.cli(['audit', 'verify']);
		assert.equal(v.code, 0, v.stdout + v.stderr);
	});

	test('control characters stored in names are escaped in CLI output', { skip: HAVE_SQLITE3 ? false : 'sqlite3 CLI not installed' }, async () => {
		sql(inst.db, "UPDATE workspaces SET name = 'Evil' || char(27) || '[2J' || char(10) || 'line'");
		sql(inst.db, "UPDATE accounts SET name = 'Ops' || char(7) || char(9) || 'x', is_staff = 1 WHERE email = 'ops@example.test'");
		const list = await inst.ok(['workspace', 'list']);
		assert.ok(!list.includes('\x1b'), 'no raw ESC');
		assert.ok(list.includes('Evil\\x1b[2J\\x0aline'), list);
		assert.equal(list.trim().split('\n').length, 2, 'one line per workspace');
		const staff = await inst.ok(['staff', 'list']);
		assert.ok(staff.includes('Ops\\x07\\x09x'), staff);
		const j = JSON.parse(await inst.ok(['workspace', 'list', '--json']));
		assert.equal(j[0].name, 'Evil\x1b[2J\nline', 'JSON carries it escaped by JSON itself');
	});

	test('a CLI writer that cannot get the database says "server busy, retry"', { skip: HAVE_SQLITE3 ? false : 'sqlite3 CLI not installed' }, async () => {
		const holder = spawn('sqlite3', [inst.db], { stdio: ['pipe', 'pipe', 'pipe'] });
		let out = '';
		holder.stdout.on('data', (d) => (out += d));
		holder.stdin.write("BEGIN IMMEDIATE;\nSELECT 'locked';\n");
		const t0 = Date.now();
		while (!out.includes('locked')) {
			if (Date.now() - t0 > 5000) throw new Error('sqlite3 did not take the lock');
			await new Promise((res) => setTimeout(res, 20));
		}
		try {
			const r = await inst.cli(['staff', 'grant', 'founder@example.test']);
			assert.equal(r.code, 1);
			assert.match(r.stderr, /server busy, retry/);
			assert.equal(r.stdout, '');
		} finally {
			holder.stdin.end('ROLLBACK;\n');
			await new Promise((res) => holder.on('close', res));
		}
		const r = await inst.cli(['staff', 'grant', 'founder@example.test']);
		assert.equal(r.code, 0, r.stderr);
	});
});

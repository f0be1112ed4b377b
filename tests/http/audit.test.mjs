// Audit logs through the real binary (ASan test build): `dropfix audit verify` passes on
// untouched chains and fails, naming the log and the seq, when one stored row is edited
// (sqlite3 CLI / psql as the maintenance role) or deleted; concurrent appends from
// several processes on PostgreSQL form one gap-free chain; rows survive a key rotation;
// deleting a workspace takes its log, the installation log keeps the deletion; `list`
// escapes control characters and `export` neutralises spreadsheet formulas.
// Test-only hooks used (test builds only, src/cli/cmd_audit.c):
// `audit test-workspace create NAME | delete ID`, `audit test-append …`.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { BIN, RELEASE_BIN, runBin, tmpDir } from './lib.mjs';

const PG = process.env.DROPFIX_TEST_PG_PORT && process.env.DROPFIX_TEST_PG_ADMIN_URL;
const PG_SKIP = PG ? false : 'PostgreSQL test cluster not available (DROPFIX_TEST_PG_PORT / DROPFIX_TEST_PG_ADMIN_URL come from tests/lib/pg.sh; `make test` starts it)';
const HAVE_SQLITE3 = (() => {
	try {
		execFileSync('sqlite3', ['-version']);
		return true;
	} catch {
		return false;
	}
})();

const run = (args, env) => runBin(args, { env: { DROPFIX_LOG_LEVEL: 'warn', ...env } });

async function ok(args, env) {
	const r = await run(args, env);
	if (r.code !== 0) throw new Error(`dropfix ${args.join(' ')} exited ${r.code}:\n${r.stdout}${r.stderr}`);
	return r.stdout;
}

const newWorkspace = async (env, name) => (await ok(['audit', 'test-workspace', 'create', name], env)).trim();
const append = (env, log, action, extra = []) =>
	ok(['audit', 'test-append', ...(log === 'install' ? ['--install'] : ['--workspace', log]), '--action', action, ...extra], env);
const verify = (env) => run(['audit', 'verify'], env);

function sqliteEnv() {
	const dir = tmpDir('dropfix-audit-');
	return { env: { DROPFIX_DATA_DIR: dir }, db: path.join(dir, 'dropfix.db'), dir };
}
const sql = (db, q) => execFileSync('sqlite3', [db, q], { encoding: 'utf8' }).trim();

// Two workspaces (a, canary b) with 3 rows each; 2 installation rows besides the two
// workspace.created ones.
async function seed(env) {
	const a = await newWorkspace(env, 'alpha');
	const b = await newWorkspace(env, 'canary');
	await append(env, a, 'auth.signin', ['--actor-kind', 'account', '--actor-id', '7', '--target', 'ann@example.com', '--count', '3']);
	await append(env, b, 'member.role_changed', ['--actor-kind', 'account', '--actor-id', '8', '--target', 'admin', '--count', '3']);
	await append(env, 'install', 'auth.signin_failed', ['--actor-kind', 'system', '--target', 'who@example.com', '--ip', '192.0.2.1', '--count', '2']);
	return { a, b };
}

describe('audit logs on SQLite', { skip: HAVE_SQLITE3 ? false : 'sqlite3 CLI not installed' }, () => {
	test('verify passes, then names the edited row', async () => {
		const { env, db } = sqliteEnv();
		const { a, b } = await seed(env);
		let r = await verify(env);
		assert.equal(r.code, 0, r.stdout + r.stderr);
		assert.match(r.stdout, /^installation log: 4 rows, head seq 4 mac [0-9a-f]{16}: ok$/m);
		assert.match(r.stdout, new RegExp(`^workspace ${a} log: 3 rows, head seq 3 mac [0-9a-f]{16}: ok$`, 'm'));
		assert.match(r.stdout, new RegExp(`^workspace ${b} log: 3 rows, head seq 3 mac [0-9a-f]{16}: ok$`, 'm'));
		const headBefore = r.stdout.match(new RegExp(`workspace ${a} log: .* mac ([0-9a-f]{16})`))[1];

		// the acceptance check: editing one stored row makes verify fail
		sql(db, `UPDATE workspace_audit SET detail = '{"note":"harmless?"}' WHERE workspace_id = ${a} AND seq = 2`);
		r = await verify(env);
		assert.equal(r.code, 1, r.stdout + r.stderr);
		assert.match(r.stdout, new RegExp(`^workspace ${a} log: FAILED at seq 2: mac does not match`, 'm'));
		assert.match(r.stdout, new RegExp(`^workspace ${b} log: 3 rows, head seq 3 .*: ok$`, 'm'));
		assert.match(r.stdout, /^installation log: 4 rows, head seq 4 .*: ok$/m);
		assert.match(r.stderr, /1 of 3 logs FAILED/);

		// putting the row back makes the chain whole again (same head as before)
		sql(db, `UPDATE workspace_audit SET detail = '{}' WHERE workspace_id = ${a} AND seq = 2`);
		r = await verify(env);
		assert.equal(r.code, 0, r.stdout + r.stderr);
		assert.ok(r.stdout.includes(`mac ${headBefore}: ok`));

		// an edited installation row
		sql(db, `UPDATE install_audit SET target = 'someone-else@example.com' WHERE seq = 3`);
		r = await verify(env);
		assert.equal(r.code, 1);
		assert.match(r.stdout, /^installation log: FAILED at seq 3: mac does not match/m);
	});

	test('a deleted middle row is named', async () => {
		const { env, db } = sqliteEnv();
		const { a } = await seed(env);
		sql(db, `DELETE FROM workspace_audit WHERE workspace_id = ${a} AND seq = 2`);
		const r = await verify(env);
		assert.equal(r.code, 1);
		assert.match(r.stdout, new RegExp(`^workspace ${a} log: FAILED at seq 2: row 2 is missing`, 'm'));
	});

	test('old rows verify after a key rotation; new rows use the new key', async () => {
		const { env, db, dir } = sqliteEnv();
		const { a } = await seed(env);
		// a second key line, as `dropfix keys rotate --add-only` writes it
		const keyFile = path.join(dir, 'master.key');
		fs.appendFileSync(keyFile, `2 ${crypto.randomBytes(32).toString('base64')}\n`);
		await append(env, a, 'keys.rotated', ['--count', '2']);
		await append(env, 'install', 'keys.rotated');
		const r = await verify(env);
		assert.equal(r.code, 0, r.stdout + r.stderr);
		assert.match(r.stdout, new RegExp(`^workspace ${a} log: 5 rows, head seq 5 .*: ok$`, 'm'));
		assert.equal(sql(db, `SELECT group_concat(key_id, ',') FROM (SELECT key_id FROM workspace_audit WHERE workspace_id = ${a} ORDER BY seq)`), '1,1,1,2,2');
		// a key file without key 1 cannot vouch for the old rows
		const lines = fs.readFileSync(keyFile, 'utf8').split('\n').filter((l) => l.startsWith('2 '));
		fs.writeFileSync(keyFile, lines.join('\n') + '\n', { mode: 0o600 });
		const r2 = await verify(env);
		assert.equal(r2.code, 1);
		assert.match(r2.stdout, /FAILED at seq 1: key id 1 is not in the keyring/);
	});

	test('workspace deletion cascades its log; the installation log keeps the deletion', async () => {
		const { env, db } = sqliteEnv();
		const { a, b } = await seed(env);
		await ok(['audit', 'test-workspace', 'delete', a], env);
		assert.equal(sql(db, `SELECT count(*) FROM workspace_audit WHERE workspace_id = ${a}`), '0');
		assert.equal(sql(db, `SELECT count(*) FROM workspace_audit WHERE workspace_id = ${b}`), '3');
		const r = await verify(env);
		assert.equal(r.code, 0, r.stdout + r.stderr);
		assert.doesNotMatch(r.stdout, new RegExp(`workspace ${a}`));
		assert.match(r.stdout, /^installation log: 5 rows/m);
		const rows = (await ok(['audit', 'list', '--action', 'workspace.', '--json'], env)).trim().split('\n').map((l) => JSON.parse(l));
		assert.deepEqual(rows.map((x) => [x.action, String(x.workspace_id)]), [
			['workspace.deleted', a],
			['workspace.created', b],
			['workspace.created', a],
		]);
		const gone = await run(['audit', 'list', '--workspace', a], env);
		assert.equal(gone.code, 1);
		assert.match(gone.stderr, /no workspace/);
	});

	test('list escapes control characters; export neutralises formulas', async () => {
		const { env } = sqliteEnv();
		const a = await newWorkspace(env, 'alpha');
		await append(env, a, 'settings.changed', ['--actor-kind', 'account', '--actor-id', '3', '--target', 'name\x1b[2J\x07', '--detail', '{"to":"=cmd|\' /C calc\'!A0"}']);
		await append(env, a, 'invite.created', ['--actor-kind', 'account', '--actor-id', '3', '--target', '@SUM(1)']);
		await append(env, a, 'member.removed', ['--actor-kind', 'account', '--actor-id', '3', '--target', '-1, "quoted"']);
		const text = await ok(['audit', 'list', '--workspace', a], env);
		assert.ok(!/[\x00-\x08\x0b-\x1f\x7f]/.test(text), 'no raw control characters in list output');
		assert.ok(text.includes('target="name\\x1b[2J\\x07"'), text);
		const csv = await ok(['audit', 'export', '--workspace', a, '--oldest-first'], env);
		const lines = csv.split('\r\n');
		assert.equal(lines[0], 'seq,at,actor_kind,actor_id,action,target,detail,ip');
		assert.ok(lines[1].endsWith(`,settings.changed,name\x1b[2J\x07,"{""to"":""=cmd|' /C calc'!A0""}",`), lines[1]);
		assert.ok(lines[2].endsWith(`,invite.created,'@SUM(1),{},`), lines[2]);
		assert.ok(lines[3].endsWith(`,member.removed,"'-1, ""quoted""",{},`), lines[3]);
		for (const l of lines.slice(1, 4)) for (const f of l.split(',')) assert.ok(!/^[=+\-@\t\r]/.test(f), `unneutralised field ${f}`);
		const jsonl = (await ok(['audit', 'export', '--workspace', a, '--json', '--action', 'invite.'], env)).trim().split('\n');
		assert.equal(jsonl.length, 1);
		assert.equal(JSON.parse(jsonl[0]).target, '@SUM(1)');
	});

	test('refused input: unknown action, secrets in detail, bad filters', async () => {
		const { env } = sqliteEnv();
		const a = await newWorkspace(env, 'alpha');
		let r = await run(['audit', 'test-append', '--workspace', a, '--action', 'made.up'], env);
		assert.equal(r.code, 1);
		r = await run(['audit', 'test-append', '--workspace', a, '--action', 'auth.signin', '--detail', '{"password":"x"}'], env);
		assert.equal(r.code, 1);
		assert.match(r.stderr, /looks like a secret/);
		r = await run(['audit', 'list', '--since', 'yesterday'], env);
		assert.equal(r.code, 2);
		r = await run(['audit', 'list', '--action', "auth'--"], env);
		assert.equal(r.code, 1);
		assert.match(r.stderr, /bad filter/);
		r = await run(['audit', 'frobnicate'], env);
		assert.equal(r.code, 2);
		assert.equal((await verify(env)).code, 0);
	});

	test('the release binary has no test hooks', async () => {
		const { env } = sqliteEnv();
		const r = await runBin(['audit', 'test-append', '--install', '--action', 'auth.signin'], { bin: RELEASE_BIN, env });
		assert.equal(r.code, 2);
		const help = await runBin(['audit', '--help'], { bin: RELEASE_BIN });
		assert.equal(help.code, 0);
		assert.match(help.stdout, /dropfix audit verify/);
		assert.doesNotMatch(help.stdout, /test-append/);
	});
});

// ---- PostgreSQL ----

const pgBin = (name) => path.join(process.env.DROPFIX_TEST_PG_BIN || '/usr/lib/postgresql/15/bin', name);
let dbSeq = 0;

async function createPgDb() {
	const name = `dfx_audit_${process.pid}_${++dbSeq}`;
	const port = process.env.DROPFIX_TEST_PG_PORT;
	const owner = process.env.DROPFIX_TEST_PG_OWNER || 'dropfix_owner';
	execFileSync(pgBin('psql'), ['-X', '-q', '-v', 'ON_ERROR_STOP=1', process.env.DROPFIX_TEST_PG_ADMIN_URL, '-c', `CREATE DATABASE ${name} OWNER ${owner}`]);
	const url = (role, pw) => `postgres://${role}:${pw}@127.0.0.1:${port}/${name}`;
	const ownerUrl = url(owner, process.env.DROPFIX_TEST_PG_OWNER_PASSWORD || '');
	const appUrl = url(process.env.DROPFIX_TEST_PG_APP || 'dropfix_app', process.env.DROPFIX_TEST_PG_APP_PASSWORD || '');
	const maintUrl = url(process.env.DROPFIX_TEST_PG_MAINT || 'dropfix_maint', process.env.DROPFIX_TEST_PG_MAINT_PASSWORD || '');
	const dir = tmpDir('dropfix-audit-pg-');
	const keyFile = path.join(dir, 'master.key');
	fs.writeFileSync(keyFile, `1 ${crypto.randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
	const env = { DROPFIX_DATA_DIR: dir, DROPFIX_DATABASE_URL: appUrl, DROPFIX_MASTER_KEY_FILE: keyFile };
	const m = await run(['migrate'], { ...env, DROPFIX_DATABASE_OWNER_URL: ownerUrl });
	if (m.code !== 0) throw new Error(`dropfix migrate failed (${m.code}):\n${m.stdout}${m.stderr}`);
	return {
		env,
		psql: (q) => execFileSync(pgBin('psql'), ['-X', '-q', '-t', '-A', '-v', 'ON_ERROR_STOP=1', maintUrl, '-c', q], { encoding: 'utf8' }).trim(),
		psqlApp: (q) => execFileSync(pgBin('psql'), ['-X', '-q', '-t', '-A', '-v', 'ON_ERROR_STOP=1', appUrl, '-c', q], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }),
		drop() {
			try {
				execFileSync(pgBin('psql'), ['-X', '-q', process.env.DROPFIX_TEST_PG_ADMIN_URL, '-c', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]);
			} catch { /* the cluster goes away with the run anyway */ }
		},
	};
}

describe('audit logs on PostgreSQL (app role)', { skip: PG_SKIP }, () => {
	const dbs = [];
	after(() => dbs.forEach((d) => d.drop()));

	test('verify passes; an edited row and a deleted row are named; the app role cannot rewrite', async () => {
		const db = await createPgDb();
		dbs.push(db);
		const { a, b } = await seed(db.env);
		let r = await verify(db.env);
		assert.equal(r.code, 0, r.stdout + r.stderr);
		assert.match(r.stdout, new RegExp(`^workspace ${a} log: 3 rows, head seq 3 .*: ok$`, 'm'));
		// the app role is append-only
		assert.throws(() => db.psqlApp(`UPDATE workspace_audit SET detail = '{}'`), /permission denied/);
		assert.throws(() => db.psqlApp(`DELETE FROM install_audit`), /permission denied/);
		// someone with the maintenance role edits a row
		db.psql(`UPDATE workspace_audit SET target = 'mallory@example.com' WHERE workspace_id = ${b} AND seq = 3`);
		r = await verify(db.env);
		assert.equal(r.code, 1, r.stdout + r.stderr);
		assert.match(r.stdout, new RegExp(`^workspace ${b} log: FAILED at seq 3: mac does not match`, 'm'));
		assert.match(r.stdout, new RegExp(`^workspace ${a} log: 3 rows, head seq 3 .*: ok$`, 'm'));
		db.psql(`DELETE FROM install_audit WHERE seq = 2`);
		r = await verify(db.env);
		assert.equal(r.code, 1);
		assert.match(r.stdout, /^installation log: FAILED at seq 2: row 2 is missing/m);
	});

	test('concurrent appends from several processes form one gap-free chain', async () => {
		const db = await createPgDb();
		dbs.push(db);
		const a = await newWorkspace(db.env, 'alpha');
		const procs = [];
		for (let i = 0; i < 4; i++) {
			procs.push(append(db.env, a, 'session.revoked', ['--actor-kind', 'account', '--actor-id', String(10 + i), '--count', '25']));
			procs.push(append(db.env, 'install', 'auth.signin_failed', ['--actor-kind', 'system', '--count', '25']));
		}
		const outs = await Promise.all(procs);
		assert.deepEqual(outs.map((o) => o.trim()), Array(8).fill('25'));
		const r = await verify(db.env);
		assert.equal(r.code, 0, r.stdout + r.stderr);
		assert.match(r.stdout, new RegExp(`^workspace ${a} log: 100 rows, head seq 100 .*: ok$`, 'm'));
		assert.match(r.stdout, /^installation log: 101 rows, head seq 101 .*: ok$/m);
		assert.equal(db.psql(`SELECT count(DISTINCT seq) || ' ' || min(seq) || ' ' || max(seq) FROM workspace_audit WHERE workspace_id = ${a}`), '100 1 100');
		// every writer's rows are there
		assert.equal(db.psql(`SELECT string_agg(actor_id || ':' || n, ',' ORDER BY actor_id) FROM (SELECT actor_id, count(*) n FROM workspace_audit GROUP BY actor_id) x`), '10:25,11:25,12:25,13:25');
	});

	test('workspace deletion cascades its log past RLS', async () => {
		const db = await createPgDb();
		dbs.push(db);
		const { a, b } = await seed(db.env);
		await ok(['audit', 'test-workspace', 'delete', a], db.env);
		assert.equal(db.psql(`SELECT count(*) FROM workspace_audit WHERE workspace_id = ${a}`), '0');
		assert.equal(db.psql(`SELECT count(*) FROM workspace_audit WHERE workspace_id = ${b}`), '3');
		assert.equal(db.psql(`SELECT action FROM install_audit WHERE workspace_id = ${a} ORDER BY seq DESC LIMIT 1`), 'workspace.deleted');
		const r = await verify(db.env);
		assert.equal(r.code, 0, r.stdout + r.stderr);
	});
});

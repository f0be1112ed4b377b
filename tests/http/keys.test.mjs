// dropfix keys: list, rotate (killed half-way and resumed), verify, retire, on SQLite
// and PostgreSQL. Sealed rows come from the test build's `keys --test-seed N`; the
// rotation is killed with SIGKILL after K batches by DROPFIX_TEST_KEYS_STOP_AFTER.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { RELEASE_BIN, freePort, runBin, sleep, startServer, tmpDir } from './lib.mjs';

const SEED = 1200; // + 121 TOTP seeds + 121 signing keys = 1442 values
const TOTAL = SEED + 2 * (Math.floor(SEED / 10) + 1);
const BATCH = '100';

const keysRun = (env, ...args) => runBin(['keys', ...args], { env, timeoutMs: 120000 });

async function sqliteInstall() {
	const srv = await startServer();
	assert.equal((await srv.stop()).code, 0);
	return { DROPFIX_DATA_DIR: srv.dataDir };
}

// ---- PostgreSQL (tests/lib/pg.sh exports the cluster) ----
const pg = process.env.DROPFIX_TEST_PG_PORT && process.env.DROPFIX_TEST_PG_ADMIN_URL ? {
	port: process.env.DROPFIX_TEST_PG_PORT,
	psql: path.join(process.env.DROPFIX_TEST_PG_BIN || '/usr/lib/postgresql/15/bin', 'psql'),
	admin: process.env.DROPFIX_TEST_PG_ADMIN_URL,
	url: (role, db) => {
		const r = { owner: 'OWNER', app: 'APP', maint: 'MAINT' }[role];
		const user = process.env[`DROPFIX_TEST_PG_${r}`];
		const pw = process.env[`DROPFIX_TEST_PG_${r}_PASSWORD`];
		return `postgres://${user}:${pw}@127.0.0.1:${process.env.DROPFIX_TEST_PG_PORT}/${db}`;
	},
} : null;
const PG_SKIP = pg ? false : 'PostgreSQL test cluster not running (tests/lib/pg.sh; `make test` starts it)';
const pgDatabases = [];

async function psqlAdmin(sql, db = 'postgres') {
	const url = pg.admin.replace(/\/[^/]*$/, `/${db}`);
	const r = await runBin(['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-At', url, '-c', sql], { bin: pg.psql });
	assert.equal(r.code, 0, r.stderr);
	return r.stdout.trim();
}

function writeKey(dir) {
	fs.writeFileSync(path.join(dir, 'master.key'), `1 ${crypto.randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
}

async function pgInstall(tag) {
	const db = `dfx_${tag}_${process.pid}_${pgDatabases.length}`;
	await psqlAdmin(`CREATE DATABASE ${db} OWNER ${process.env.DROPFIX_TEST_PG_OWNER}`);
	pgDatabases.push(db);
	const dir = tmpDir('dropfix-pgkeys-');
	writeKey(dir);
	const env = {
		DROPFIX_DATA_DIR: dir,
		DROPFIX_DATABASE_URL: pg.url('app', db),
		DROPFIX_DATABASE_OWNER_URL: pg.url('owner', db),
		DROPFIX_DATABASE_MAINT_URL: pg.url('maint', db),
	};
	const m = await runBin(['migrate'], { env });
	assert.equal(m.code, 0, m.stderr);
	return env;
}

after(async () => {
	if (!pg) return;
	for (const db of pgDatabases) await psqlAdmin(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
});

function keyLines(env) {
	return fs.readFileSync(path.join(env.DROPFIX_DATA_DIR, 'master.key'), 'utf8').trim().split('\n');
}

// Every plaintext, with where it lives (test builds only).
async function dumpAll(env) {
	const r = await keysRun(env, '--test-dump');
	assert.equal(r.code, 0, r.stderr);
	const lines = r.stdout.trim().split('\n');
	assert.equal(lines.length, TOTAL);
	return lines;
}

async function rotationScenario(env) {
	const seed = await keysRun(env, '--test-seed', String(SEED));
	assert.equal(seed.code, 0, seed.stderr);
	let list = await keysRun(env, 'list');
	assert.equal(list.code, 0, list.stderr);
	assert.match(list.stdout, new RegExp(`^\\s+1\\s+active\\s+${TOTAL}\\b`, 'm'));
	const before = await dumpAll(env);
	assert.ok(before.some((l) => l.endsWith('\tdropfix-test-secret-7')));
	assert.ok(before.some((l) => l.startsWith('accounts.totp_sealed') && l.includes('\ttotp-seed-')));
	assert.ok(before.some((l) => l.startsWith('workspace_keys.sealed') && l.includes('\tsk-signing-')));

	// Killed (SIGKILL, as kill -9) after 4 committed batches.
	const killed = await runBin(['keys', 'rotate', '--batch', BATCH], {
		env: { ...env, DROPFIX_TEST_KEYS_STOP_AFTER: '4' }, timeoutMs: 120000,
	});
	assert.equal(killed.signal, 'SIGKILL', `${killed.code} ${killed.stderr}`);
	assert.equal(keyLines(env).length, 2, 'the new key was written before re-sealing');
	list = await keysRun(env, 'list');
	assert.match(list.stdout, /^\s+1\s+in use\s+\d+/m);
	assert.match(list.stdout, /^\s+2\s+active\s+400\b/m, list.stdout);

	// Half-way, every value still opens (old ones under key 1, new ones under key 2).
	let verify = await keysRun(env, 'verify');
	assert.equal(verify.code, 0, verify.stderr);
	assert.deepEqual(await dumpAll(env), before);

	// Key 1 is still used: retiring it is refused, and the file keeps it.
	const early = await keysRun(env, 'retire', '1');
	assert.equal(early.code, 1);
	assert.match(early.stderr, /still use key 1/);
	assert.equal(keyLines(env).length, 2);

	// Re-run: resumes (no third key), skips what is done, checks no old id remains.
	const resumed = await keysRun(env, 'rotate', '--batch', BATCH);
	assert.equal(resumed.code, 0, resumed.stderr + resumed.stdout);
	assert.match(resumed.stdout, /resuming the rotation to key 2/);
	assert.match(resumed.stdout, new RegExp(`checked ${TOTAL} sealed values .*: ${TOTAL - 400} re-sealed, 400 already under key 2`));
	assert.match(resumed.stdout, /no value uses key\(s\) 1 any more/);
	assert.equal(keyLines(env).length, 2);

	verify = await keysRun(env, 'verify');
	assert.equal(verify.code, 0, verify.stderr);
	assert.match(verify.stdout, new RegExp(`all ${TOTAL} sealed values open .*; key 2: ${TOTAL}\\n`));
	assert.match(verify.stdout, /key-check value: matches \(key 2\)/);
	assert.deepEqual(await dumpAll(env), before, 'every plaintext survived the rotation');

	const retire = await keysRun(env, 'retire', '1');
	assert.equal(retire.code, 0, retire.stderr);
	assert.deepEqual(keyLines(env).map((l) => l.split(' ')[0]), ['2']);
	assert.equal(fs.statSync(path.join(env.DROPFIX_DATA_DIR, 'master.key')).mode & 0o777, 0o600);
	const active = await keysRun(env, 'retire', '2');
	assert.equal(active.code, 1);
	assert.match(active.stderr, /is the active key/);

	// A second rotation starts afresh (key 3) and completes in one go.
	const again = await keysRun(env, 'rotate');
	assert.equal(again.code, 0, again.stderr);
	assert.match(again.stdout, /added key 3/);
	assert.deepEqual(await dumpAll(env), before);

	// Master-key operations are in the installation audit log, whose rows are never
	// re-keyed: key 2 made some of them, so it cannot be retired.
	const audit = await runBin(['audit', 'list', '--json'], { env });
	assert.equal(audit.code, 0, audit.stderr);
	const actions = audit.stdout.trim().split('\n').map((l) => JSON.parse(l).action);
	assert.deepEqual(actions.filter((a) => a.startsWith('keys.')).sort(), ['keys.retired', 'keys.rotated', 'keys.rotated']);
	const verifyAudit = await runBin(['audit', 'verify'], { env });
	assert.equal(verifyAudit.code, 0, verifyAudit.stdout + verifyAudit.stderr);
	const inAudit = await keysRun(env, 'retire', '2');
	assert.equal(inAudit.code, 1);
	assert.match(inAudit.stderr, /audit log rows? carry an HMAC made with key 2/);
}

async function serveStarts(env) {
	const srv = await startServer({ env });
	try {
		assert.equal((await fetch(`${srv.url}/readyz`)).status, 200);
	} finally {
		assert.equal((await srv.stop()).code, 0);
	}
}

describe('keys on SQLite', () => {
	test('rotate killed half-way, resumed, verified, old key retired; serve still starts', async () => {
		const env = await sqliteInstall();
		await rotationScenario(env);
		await serveStarts(env);
	});

	test('verify names a value moved to another row, and rotate refuses to call it done', async () => {
		const env = await sqliteInstall();
		assert.equal((await keysRun(env, '--test-seed', '30')).code, 0);
		const db = path.join(env.DROPFIX_DATA_DIR, 'dropfix.db');
		const sq = await runBin([db, "UPDATE workspace_secrets SET sealed = (SELECT sealed FROM workspace_secrets WHERE name = 'secret-1') WHERE name = 'secret-4'"], { bin: 'sqlite3' });
		assert.equal(sq.code, 0, sq.stderr);
		const verify = await keysRun(env, 'verify');
		assert.equal(verify.code, 1);
		assert.match(verify.stderr, /FAILED workspace_secrets\.sealed \(workspace_id=\d+, name=\\"secret-4\\"\): does not open/);
		assert.match(verify.stdout, /1 of \d+ sealed values do NOT open/);
		const rot = await keysRun(env, 'rotate');
		assert.equal(rot.code, 1);
		assert.match(rot.stderr, /secret-4/);
		assert.match(rot.stderr, /still use an older key and 1 do not open/);
		const retire = await keysRun(env, 'retire', '1');
		assert.equal(retire.code, 1, 'the unreadable value still carries key 1');
	});

	test('a server holding the writer lock: "server busy, retry", and nothing changes', async () => {
		const env = await sqliteInstall();
		assert.equal((await keysRun(env, '--test-seed', '10')).code, 0);
		const db = path.join(env.DROPFIX_DATA_DIR, 'dropfix.db');
		const holder = spawn('sqlite3', [db], { stdio: ['pipe', 'ignore', 'pipe'] });
		holder.stdin.write("BEGIN IMMEDIATE;\nINSERT INTO installation_meta (key, value, updated_at) VALUES ('lock', 'x', 0);\n");
		await sleep(300);
		try {
			const r = await keysRun(env, 'rotate');
			assert.equal(r.code, 1);
			assert.match(r.stderr, /server busy, retry/);
		} finally {
			holder.stdin.end();
			await new Promise((resolve) => holder.on('close', resolve));
		}
		assert.equal(keyLines(env).length, 1, 'no key was added');
		const r = await keysRun(env, 'rotate');
		assert.equal(r.code, 0, r.stderr);
	});

	test('usage errors exit 2; every subcommand has --help; the seeding hook is test-build only', async () => {
		const env = await sqliteInstall();
		assert.equal((await keysRun(env)).code, 2);
		assert.equal((await keysRun(env, 'bogus')).code, 2);
		assert.equal((await keysRun(env, 'retire')).code, 2);
		assert.equal((await keysRun(env, 'retire', 'x1')).code, 2);
		assert.equal((await keysRun(env, 'rotate', '--batch', '0')).code, 2);
		assert.equal((await keysRun(env, 'list', 'extra')).code, 2);
		for (const sub of ['list', 'rotate', 'verify', 'retire']) {
			const h = await keysRun(env, sub, '--help');
			assert.equal(h.code, 0);
			assert.match(h.stdout, new RegExp(`^usage: dropfix keys ${sub}`));
		}
		const top = await keysRun(env, '--help');
		assert.equal(top.code, 0);
		assert.match(top.stdout, /dropfix keys retire ID/);
		const rel = await runBin(['keys', '--test-seed', '5'], { env, bin: RELEASE_BIN });
		assert.equal(rel.code, 2, 'release builds have no seeding hook');
		const none = await keysRun(env, 'list');
		assert.match(none.stdout, /^\s+1\s+active\s+0\b/m);
	});

	test('several nodes: --add-only publishes the key, the next rotate re-seals without adding one', async () => {
		const env = await sqliteInstall();
		assert.equal((await keysRun(env, '--test-seed', '20')).code, 0);
		const add = await keysRun(env, 'rotate', '--add-only');
		assert.equal(add.code, 0, add.stderr);
		assert.match(add.stdout, /added key 2.*\n.*restart every dropfix process/);
		assert.equal(keyLines(env).length, 2);
		const list = await keysRun(env, 'list');
		assert.match(list.stdout, /^\s+1\s+in use\s+26\b/m);
		assert.match(list.stdout, /^\s+2\s+active\s+0\b/m);
		const rot = await keysRun(env, 'rotate');
		assert.equal(rot.code, 0, rot.stderr);
		assert.match(rot.stdout, /resuming the rotation to key 2/);
		assert.match(rot.stdout, /26 re-sealed/);
		assert.equal(keyLines(env).length, 2);
	});

	test('a wrong master key is refused before anything is read or written', async () => {
		const env = await sqliteInstall();
		writeKey(env.DROPFIX_DATA_DIR);
		const r = await keysRun(env, 'rotate');
		assert.equal(r.code, 1);
		assert.match(r.stderr, /does not match/);
		assert.equal(keyLines(env).length, 1);
	});
});

describe('keys on PostgreSQL', { skip: PG_SKIP }, () => {
	test('rotate killed half-way, resumed, verified, old key retired; serve still starts', async () => {
		const env = await pgInstall('keys');
		await rotationScenario(env);
		await serveStarts(env);
	});

	test('the maintenance role must bypass RLS: keys refuses the app role', async () => {
		const env = await pgInstall('keysrole');
		const r = await keysRun({ ...env, DROPFIX_DATABASE_MAINT_URL: env.DROPFIX_DATABASE_URL }, 'list');
		assert.equal(r.code, 1);
		assert.match(r.stderr, /BYPASSRLS/);
	});
});

// dropfix backup / restore on SQLite and PostgreSQL: a restore into an empty
// installation gives back every row and every sealed value; the file holds neither the
// master key nor any plaintext; damaged files, wrong keys and non-empty targets are
// refused without writing anything; serve backs up an existing SQLite database before
// migrating it.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { freePort, runBin, startServer, tmpDir } from './lib.mjs';

const run = (env, ...args) => runBin(args, { env, timeoutMs: 120000 });

async function sqliteInstall() {
	const srv = await startServer();
	assert.equal((await srv.stop()).code, 0);
	return { DROPFIX_DATA_DIR: srv.dataDir };
}

const keyFile = (env) => path.join(env.DROPFIX_DATA_DIR, 'master.key');
const dbFile = (env) => path.join(env.DROPFIX_DATA_DIR, 'dropfix.db');

function emptyDirWithKey(fromEnv) {
	const dir = tmpDir('dropfix-restore-');
	if (fromEnv) fs.copyFileSync(keyFile(fromEnv), path.join(dir, 'master.key'));
	if (fromEnv) fs.chmodSync(path.join(dir, 'master.key'), 0o600);
	return { DROPFIX_DATA_DIR: dir };
}

function randomKey(dir, id = 1) {
	fs.writeFileSync(path.join(dir, 'master.key'), `${id} ${crypto.randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
}

async function sqliteDump(file) {
	const r = await runBin([file, '.dump'], { bin: 'sqlite3' });
	assert.equal(r.code, 0, r.stderr);
	return r.stdout;
}

async function plaintexts(env) {
	const r = await run(env, 'keys', '--test-dump');
	assert.equal(r.code, 0, r.stderr);
	return r.stdout;
}

// The backup file must not contain the master keys (base64 or raw) nor any plaintext.
function assertOpaque(file, env, plain) {
	const bytes = fs.readFileSync(file);
	for (const line of fs.readFileSync(keyFile(env), 'utf8').trim().split('\n')) {
		const b64 = line.split(' ')[1];
		assert.equal(bytes.indexOf(b64), -1, 'base64 master key in the backup');
		assert.equal(bytes.indexOf(Buffer.from(b64, 'base64')), -1, 'raw master key in the backup');
	}
	for (const s of ['dropfix-test-secret-', 'totp-seed-', 'sk-signing-', 's1.', 'SQLite format 3', 'CREATE TABLE', 'workspace_secrets']) {
		assert.equal(bytes.indexOf(s), -1, `"${s}" readable in the backup`);
	}
	assert.ok(plain.includes('\tdropfix-test-secret-1\n'), 'the seeded plaintexts are what we look for');
	assert.equal(fs.statSync(file).mode & 0o777, 0o600);
}

async function readyz(env) {
	const srv = await startServer({ env });
	try {
		assert.equal((await fetch(`${srv.url}/readyz`)).status, 200);
	} finally {
		assert.equal((await srv.stop()).code, 0);
	}
}

async function serveRefusesWrongKey(env) {
	randomKey(env.DROPFIX_DATA_DIR);
	const r = await runBin(['serve', '--listen', `127.0.0.1:${await freePort()}`], { env, timeoutMs: 20000 });
	assert.equal(r.code, 1);
	assert.match(r.stderr, /does not match/);
}

describe('backup and restore on SQLite', () => {
	let env, file, dump, plain;

	test('backup writes an encrypted file holding neither the key nor any plaintext', async () => {
		env = await sqliteInstall();
		assert.equal((await run(env, 'keys', '--test-seed', '200')).code, 0);
		dump = await sqliteDump(dbFile(env));
		plain = await plaintexts(env);
		const b = await run(env, 'backup');
		assert.equal(b.code, 0, b.stderr);
		file = b.stdout.trim();
		assert.equal(path.dirname(file), path.join(env.DROPFIX_DATA_DIR, 'backups'));
		assert.match(path.basename(file), /^dropfix-\d{8}T\d{6}Z\.dfbackup$/);
		assert.match(b.stderr, /written \d+ bytes/);
		assert.match(b.stderr, /keep a copy of .*master\.key/);
		assert.deepEqual(fs.readdirSync(path.dirname(file)), [path.basename(file)], 'no temporary file left');
		assert.equal(fs.readdirSync(env.DROPFIX_DATA_DIR).filter((f) => f.startsWith('.dropfix')).length, 0);
		assertOpaque(file, env, plain);
	});

	test('restore into an empty directory: every row and sealed value reads back; serve starts', async () => {
		const env2 = emptyDirWithKey(env);
		const r = await run(env2, 'restore', file);
		assert.equal(r.code, 0, r.stderr);
		assert.match(r.stdout, /key-check value matches/);
		assert.equal(await sqliteDump(dbFile(env2)), dump);
		assert.equal(await plaintexts(env2), plain);
		const v = await run(env2, 'keys', 'verify');
		assert.equal(v.code, 0, v.stderr);
		assert.equal(fs.statSync(dbFile(env2)).mode & 0o777, 0o600);
		await readyz(env2);
		await serveRefusesWrongKey(env2);
	});

	test('restore refuses a missing or wrong key, a damaged file and a non-empty directory, writing nothing', async () => {
		const nothingWritten = (e) => assert.deepEqual(fs.readdirSync(e.DROPFIX_DATA_DIR).filter((f) => f !== 'master.key'), []);
		const noKey = emptyDirWithKey(null);
		let r = await run(noKey, 'restore', file);
		assert.equal(r.code, 1);
		assert.match(r.stderr, /master key file .* is missing/);
		nothingWritten(noKey);

		const wrong = emptyDirWithKey(null);
		randomKey(wrong.DROPFIX_DATA_DIR);
		r = await run(wrong, 'restore', file);
		assert.equal(r.code, 1);
		assert.match(r.stderr, /does not decrypt with this master key.*nothing was restored/);
		nothingWritten(wrong);

		const otherId = emptyDirWithKey(null);
		randomKey(otherId.DROPFIX_DATA_DIR, 7);
		r = await run(otherId, 'restore', file);
		assert.equal(r.code, 1);
		assert.match(r.stderr, /key id 1, which .* does not hold/);

		const bytes = fs.readFileSync(file);
		const flipped = Buffer.from(bytes);
		flipped[Math.floor(bytes.length / 2)] ^= 0x01;
		const cut = bytes.subarray(0, bytes.length - 100);
		const dir = tmpDir('dropfix-bad-');
		const cases = [['flipped', flipped, /does not decrypt/], ['truncated', cut, /truncated/],
			['not a backup', fs.readFileSync(dbFile(env)), /not a DropFix backup/]];
		for (const [name, data, re] of cases) {
			const f = path.join(dir, `${name}.dfbackup`);
			fs.writeFileSync(f, data);
			const target = emptyDirWithKey(env);
			r = await run(target, 'restore', f);
			assert.equal(r.code, 1, name);
			assert.match(r.stderr, re, name);
			nothingWritten(target);
		}

		r = await run(env, 'restore', file);
		assert.equal(r.code, 1);
		assert.match(r.stderr, /already exists; restore into an empty data directory/);
	});

	test('usage: --out refuses an existing file; bad arguments exit 2; --help', async () => {
		let r = await run(env, 'backup', '--out', file);
		assert.equal(r.code, 1);
		assert.match(r.stderr, /already exists/);
		const out = path.join(tmpDir('dropfix-out-'), 'x.dfbackup');
		r = await run(env, 'backup', '--out', out);
		assert.equal(r.code, 0, r.stderr);
		assert.equal(r.stdout.trim(), out);
		assert.equal((await run(env, 'backup', 'extra')).code, 2);
		assert.equal((await run(env, 'backup', '--out')).code, 2);
		assert.equal((await run(env, 'restore')).code, 2);
		assert.equal((await run(env, 'restore', 'a', 'b')).code, 2);
		for (const c of ['backup', 'restore']) {
			const h = await run(env, c, '--help');
			assert.equal(h.code, 0);
			assert.match(h.stdout, new RegExp(`^usage: dropfix ${c}`));
			assert.match(h.stdout, /key/);
		}
		const none = emptyDirWithKey(env);
		r = await run(none, 'backup');
		assert.equal(r.code, 1);
		assert.match(r.stderr, /no database at/);
	});

	test('serve backs up an existing database before migrating it', async () => {
		const dir = tmpDir('dropfix-old-');
		const db = path.join(dir, 'dropfix.db');
		const sql = fs.readFileSync('migrations/sqlite/0001_init.sql');
		const sum = crypto.createHash('sha256').update(sql).digest('hex');
		let r = await runBin([db], { bin: 'sqlite3', input: `${sql}
INSERT INTO schema_migrations (version, name, applied_at, checksum) VALUES (1, '0001_init', 0, '${sum}');
INSERT INTO workspace_ids (id, created_at) VALUES (4242, 0);
INSERT INTO workspaces (id, name, created_at, updated_at) VALUES (4242, 'Old workspace', 0, 0);
` });
		assert.equal(r.code, 0, r.stderr);
		const env3 = { DROPFIX_DATA_DIR: dir };
		await readyz(env3);
		const backups = fs.readdirSync(path.join(dir, 'backups'));
		assert.equal(backups.length, 1);
		assert.match(backups[0], /^pre-migrate-1-\d{8}T\d{6}Z\.dfbackup$/);
		const pre = path.join(dir, 'backups', backups[0]);
		assert.equal(fs.statSync(pre).mode & 0o777, 0o600);
		r = await runBin([db, 'SELECT max(version) > 1 FROM schema_migrations'], { bin: 'sqlite3' });
		assert.equal(r.stdout.trim(), '1', 'serve migrated after the backup');

		// The pre-migration backup restores the old schema and its rows.
		const env4 = emptyDirWithKey(env3);
		r = await run(env4, 'restore', pre);
		assert.equal(r.code, 0, r.stderr);
		assert.match(r.stdout, /schema version 1/);
		r = await runBin([dbFile(env4), 'SELECT max(version) FROM schema_migrations; SELECT name FROM workspaces'], { bin: 'sqlite3' });
		assert.equal(r.stdout.trim(), '1\nOld workspace');

		// An up-to-date database is not backed up again.
		await readyz(env3);
		assert.equal(fs.readdirSync(path.join(dir, 'backups')).length, 1);
	});
});

// ---- PostgreSQL ----
const pg = process.env.DROPFIX_TEST_PG_PORT && process.env.DROPFIX_TEST_PG_ADMIN_URL ? {
	psql: path.join(process.env.DROPFIX_TEST_PG_BIN || '/usr/lib/postgresql/15/bin', 'psql'),
	url: (role, db) => {
		if (role === 'admin') return process.env.DROPFIX_TEST_PG_ADMIN_URL.replace(/\/[^/]*$/, `/${db}`);
		const r = { owner: 'OWNER', app: 'APP', maint: 'MAINT' }[role];
		return `postgres://${process.env[`DROPFIX_TEST_PG_${r}`]}:${process.env[`DROPFIX_TEST_PG_${r}_PASSWORD`]}@127.0.0.1:${process.env.DROPFIX_TEST_PG_PORT}/${db}`;
	},
} : null;
const PG_SKIP = pg ? false : 'PostgreSQL test cluster not running (tests/lib/pg.sh; `make test` starts it)';
const pgDatabases = [];

async function psql(url, sql) {
	const r = await runBin(['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-At', url, '-c', sql], { bin: pg.psql });
	assert.equal(r.code, 0, r.stderr);
	return r.stdout.trim();
}

async function pgDatabase(tag, keyFrom) {
	const db = `dfx_${tag}_${process.pid}_${pgDatabases.length}`;
	await psql(pg.url('admin', 'postgres'), `CREATE DATABASE ${db} OWNER ${process.env.DROPFIX_TEST_PG_OWNER}`);
	pgDatabases.push(db);
	const env = emptyDirWithKey(keyFrom);
	if (!keyFrom) randomKey(env.DROPFIX_DATA_DIR);
	return {
		db,
		env: {
			...env,
			DROPFIX_DATABASE_URL: pg.url('app', db),
			DROPFIX_DATABASE_OWNER_URL: pg.url('owner', db),
			DROPFIX_DATABASE_MAINT_URL: pg.url('maint', db),
		},
	};
}

// A digest of every row of every table (as the superuser, so RLS hides nothing).
async function pgFingerprint(db) {
	const tables = (await psql(pg.url('admin', db),
		"SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")).split('\n');
	const out = {};
	for (const t of tables) {
		out[t] = await psql(pg.url('admin', db),
			`SELECT count(*) || ':' || coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)), '') FROM "${t}" x`);
	}
	return out;
}

after(async () => {
	if (!pg) return;
	for (const db of pgDatabases) await psql(pg.url('admin', 'postgres'), `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
});

describe('backup and restore on PostgreSQL', { skip: PG_SKIP }, () => {
	test('restore into an empty database: every row and sealed value, RLS and ownership intact', async () => {
		const src = await pgDatabase('bsrc', null);
		let r = await run(src.env, 'migrate');
		assert.equal(r.code, 0, r.stderr);
		assert.equal((await run(src.env, 'keys', '--test-seed', '200')).code, 0);
		const plain = await plaintexts(src.env);
		const before = await pgFingerprint(src.db);
		assert.match(before.workspace_secrets, /^200:/);

		const file = path.join(tmpDir('dropfix-pgb-'), 'pg.dfbackup');
		r = await run(src.env, 'backup', '--out', file);
		assert.equal(r.code, 0, r.stderr);
		assert.match(r.stderr, /written \d+ bytes/);
		assertOpaque(file, src.env, plain);
		assert.equal(fs.readFileSync(file).indexOf('COPY'), -1);

		const dst = await pgDatabase('bdst', src.env);
		r = await run(dst.env, 'restore', file);
		assert.equal(r.code, 0, r.stderr);
		assert.match(r.stdout, /key-check value matches/);
		assert.deepEqual(await pgFingerprint(dst.db), before);
		assert.equal(await plaintexts(dst.env), plain);
		assert.equal((await run(dst.env, 'keys', 'verify')).code, 0);

		const admin = pg.url('admin', dst.db);
		assert.equal(await psql(admin, "SELECT relrowsecurity AND relforcerowsecurity FROM pg_class WHERE relname = 'workspace_secrets'"), 't');
		assert.equal(await psql(admin, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner <> 'dropfix_owner'"), '0');
		// the app role sees no tenant row without the tenant setting (fails closed)
		assert.equal(await psql(pg.url('app', dst.db), 'SELECT count(*) FROM workspace_secrets'), '0');
		await readyz(dst.env);

		r = await run(dst.env, 'restore', file);
		assert.equal(r.code, 1);
		assert.match(r.stderr, /already has \d+ table/);
		await serveRefusesWrongKey(dst.env);
	});

	test('a wrong key or a damaged file leaves the target database empty', async () => {
		const src = await pgDatabase('bsrc2', null);
		assert.equal((await run(src.env, 'migrate')).code, 0);
		assert.equal((await run(src.env, 'keys', '--test-seed', '20')).code, 0);
		const file = path.join(tmpDir('dropfix-pgb-'), 'pg.dfbackup');
		assert.equal((await run(src.env, 'backup', '--out', file)).code, 0);

		const dst = await pgDatabase('bdst2', null); // a different key
		let r = await run(dst.env, 'restore', file);
		assert.equal(r.code, 1);
		assert.match(r.stderr, /does not decrypt with this master key/);
		const tables = "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'";
		assert.equal(await psql(pg.url('admin', dst.db), tables), '0');

		const bytes = fs.readFileSync(file);
		const bad = path.join(tmpDir('dropfix-pgb-'), 'bad.dfbackup');
		fs.writeFileSync(bad, bytes.subarray(0, bytes.length - 1));
		const dst2 = await pgDatabase('bdst3', src.env);
		r = await run(dst2.env, 'restore', bad);
		assert.equal(r.code, 1);
		assert.match(r.stderr, /truncated/);
		assert.equal(await psql(pg.url('admin', dst2.db), tables), '0');

		// an SQLite installation does not take a PostgreSQL backup
		r = await run(emptyDirWithKey(src.env), 'restore', file);
		assert.equal(r.code, 1);
		assert.match(r.stderr, /PostgreSQL backup, but DROPFIX_DATABASE_URL is a SQLite database/);
	});
});

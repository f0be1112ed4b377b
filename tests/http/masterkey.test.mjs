// The master key at start: created 0600 on the first run of the embedded default, and
// serve refuses (naming the file and the fix) a group-readable, missing or wrong key.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { freePort, runBin, startServer } from './lib.mjs';

async function firstRun() {
	const srv = await startServer();
	assert.equal((await fetch(`${srv.url}/readyz`)).status, 200);
	assert.equal((await srv.stop()).code, 0);
	return srv.dataDir;
}

const serve = async (dataDir, env = {}) =>
	runBin(['serve', '--listen', `127.0.0.1:${await freePort()}`], { env: { DROPFIX_DATA_DIR: dataDir, ...env }, timeoutMs: 10000 });

describe('master key', () => {
	test('first run creates master.key with mode 0600 in the keyring format', async () => {
		const dir = await firstRun();
		const file = path.join(dir, 'master.key');
		assert.equal(fs.statSync(file).mode & 0o777, 0o600);
		assert.match(fs.readFileSync(file, 'utf8'), /^1 [A-Za-z0-9+/]{43}=\n$/);
		assert.ok(fs.statSync(path.join(dir, 'dropfix.db')).size > 0);
	});

	test('a group-readable master key stops serve with a message naming the file', async () => {
		const dir = await firstRun();
		const file = path.join(dir, 'master.key');
		fs.chmodSync(file, 0o640);
		const r = await serve(dir);
		assert.equal(r.code, 1);
		assert.ok(r.stderr.includes(file), r.stderr);
		assert.match(r.stderr, /chmod 600/);
	});

	test('a missing key for an existing database is refused, not replaced', async () => {
		const dir = await firstRun();
		const file = path.join(dir, 'master.key');
		fs.unlinkSync(file);
		const r = await serve(dir);
		assert.equal(r.code, 1);
		assert.ok(r.stderr.includes(file), r.stderr);
		assert.match(r.stderr, /missing/);
		assert.equal(fs.existsSync(file), false, 'no new key was made');
	});

	test('a wrong but well-formed key is refused at start (key-check value)', async () => {
		const dir = await firstRun();
		const file = path.join(dir, 'master.key');
		fs.writeFileSync(file, `1 ${crypto.randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
		const r = await serve(dir);
		assert.equal(r.code, 1);
		assert.ok(r.stderr.includes(file), r.stderr);
		assert.match(r.stderr, /does not match/);
	});

	test('a key of the wrong length is refused', async () => {
		const dir = await firstRun();
		const file = path.join(dir, 'master.key');
		fs.writeFileSync(file, `1 ${crypto.randomBytes(16).toString('base64')}\n`, { mode: 0o600 });
		const r = await serve(dir);
		assert.equal(r.code, 1);
		assert.ok(r.stderr.includes(file), r.stderr);
	});
});

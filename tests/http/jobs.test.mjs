// Background jobs across real processes: `dropfix worker` (ASan test build) on PostgreSQL
// (two workers, 1,000 jobs each run once; recurring jobs once per period; a worker killed
// with -9 mid-job) and on SQLite (one worker; retry until dead on the fake clock; SIGTERM
// finishes the job in hand). Test-only hooks used (test builds only, src/jobs/job_builtin.c):
// `worker --test-enqueue TYPE:N[:JSON]`, `worker --test-dump`, job types test.record /
// test.sleep / test.fail / test.tick, and DROPFIX_TEST_JOB_LOG, _LEASE_MS, _POLL_MS, _TICK_MS.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BIN, RELEASE_BIN, runBin, sleep, tmpDir } from './lib.mjs';

const PG = process.env.DROPFIX_TEST_PG_PORT && process.env.DROPFIX_TEST_PG_ADMIN_URL;
const PG_SKIP = PG ? false : 'PostgreSQL test cluster not available (DROPFIX_TEST_PG_PORT / DROPFIX_TEST_PG_ADMIN_URL come from tests/lib/pg.sh; `make test` starts it)';

function baseEnv(extra) {
	const env = {};
	for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('DROPFIX_')) env[k] = v;
	env.ASAN_OPTIONS = process.env.ASAN_OPTIONS || 'detect_leaks=1';
	return { ...env, DROPFIX_LOG_LEVEL: 'info', DROPFIX_TEST_JOB_POLL_MS: '50', ...extra };
}

// Starts `dropfix worker`; resolves once its runner thread is up.
async function startWorker(env) {
	const child = spawn(BIN, ['worker'], { env: baseEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
	let out = '';
	child.stdout.on('data', (d) => (out += d));
	child.stderr.on('data', (d) => (out += d));
	const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
	const deadline = Date.now() + 15000;
	while (!out.includes('"job runner started"')) {
		if (child.exitCode !== null) throw new Error(`worker exited early (${child.exitCode}):\n${out}`);
		if (Date.now() > deadline) throw new Error(`worker did not start:\n${out}`);
		await sleep(20);
	}
	return {
		pid: child.pid,
		child,
		logs: () => out,
		exited,
		async stop(signal = 'SIGTERM') {
			if (child.exitCode === null && child.signalCode === null) child.kill(signal);
			return exited;
		},
	};
}

async function cli(args, env) {
	const r = await runBin(args, { env: { DROPFIX_LOG_LEVEL: 'warn', ...env } });
	if (r.code !== 0) throw new Error(`dropfix ${args.join(' ')} exited ${r.code}:\n${r.stderr}`);
	return r.stdout;
}
const enqueue = (env, spec) => cli(['worker', '--test-enqueue', spec], env);
const dump = async (env) => (await cli(['worker', '--test-dump'], env)).split('\n').filter(Boolean).map((l) => JSON.parse(l));
const readLog = (file) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);

async function waitFor(what, fn, timeoutMs = 20000) {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const v = await fn();
		if (v) return v;
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await sleep(25);
	}
}

// Fake clock file (src/core/clock.h): Unix seconds with a fraction.
function setClock(file, ms) {
	fs.writeFileSync(file, `${Math.floor(ms / 1000)}.${String(ms % 1000).padStart(3, '0')}\n`);
}

// ---- PostgreSQL: a fresh database per test, migrated as the owner, used as the app role ----

const pgBin = (name) => path.join(process.env.DROPFIX_TEST_PG_BIN || '/usr/lib/postgresql/15/bin', name);
let dbSeq = 0;

async function createPgDb() {
	const name = `dfx_jobs_${process.pid}_${++dbSeq}`;
	const port = process.env.DROPFIX_TEST_PG_PORT;
	const owner = process.env.DROPFIX_TEST_PG_OWNER || 'dropfix_owner';
	execFileSync(pgBin('psql'), ['-X', '-q', '-v', 'ON_ERROR_STOP=1', process.env.DROPFIX_TEST_PG_ADMIN_URL, '-c', `CREATE DATABASE ${name} OWNER ${owner}`]);
	const url = (role, pw) => `postgres://${role}:${pw}@127.0.0.1:${port}/${name}`;
	const ownerUrl = url(owner, process.env.DROPFIX_TEST_PG_OWNER_PASSWORD || '');
	const appUrl = url(process.env.DROPFIX_TEST_PG_APP || 'dropfix_app', process.env.DROPFIX_TEST_PG_APP_PASSWORD || '');
	const m = await runBin(['migrate'], { env: { DROPFIX_DATABASE_URL: appUrl, DROPFIX_DATABASE_OWNER_URL: ownerUrl, DROPFIX_DATA_DIR: tmpDir('dropfix-jobs-') } });
	if (m.code !== 0) throw new Error(`dropfix migrate (owner role) failed (${m.code}):\n${m.stdout}${m.stderr}`);
	return {
		name,
		url: appUrl,
		drop() {
			try {
				execFileSync(pgBin('psql'), ['-X', '-q', process.env.DROPFIX_TEST_PG_ADMIN_URL, '-c', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]);
			} catch { /* the cluster goes away with the run anyway */ }
		},
	};
}

describe('jobs on PostgreSQL (several workers)', { skip: PG_SKIP }, () => {
	const dbs = [];
	const workers = [];
	after(async () => {
		for (const w of workers) await w.stop('SIGKILL');
		for (const d of dbs) d.drop();
	});
	async function setup(extra = {}) {
		const db = await createPgDb();
		dbs.push(db);
		const dir = tmpDir('dropfix-jobs-');
		const env = { DROPFIX_DATA_DIR: dir, DROPFIX_DATABASE_URL: db.url, DROPFIX_TEST_JOB_LOG: path.join(dir, 'jobs.log'), ...extra };
		return { db, dir, env, log: env.DROPFIX_TEST_JOB_LOG };
	}
	async function worker(env) {
		const w = await startWorker(env);
		workers.push(w);
		return w;
	}

	test('two workers run each of 1,000 jobs exactly once', async () => {
		const { env, log } = await setup();
		const [a, b] = [await worker(env), await worker(env)];
		assert.equal((await enqueue(env, 'test.record:1000')).trim(), '1000');
		const t0 = Date.now();
		await waitFor('1,000 log lines', () => readLog(log).length >= 1000, 30000);
		const elapsed = Date.now() - t0;
		await sleep(300); // a duplicate run would show up here
		const lines = readLog(log);
		const ids = lines.map((l) => l.split(' ')[0]);
		const byId = new Map();
		for (const id of ids) byId.set(id, (byId.get(id) || 0) + 1);
		assert.equal(lines.length, 1000, 'one line per run');
		assert.equal(byId.size, 1000, 'every job ran');
		assert.deepEqual([...byId.values()].filter((n) => n !== 1), [], 'no job ran twice');
		const pids = new Set(lines.map((l) => l.split(' ')[1]));
		assert.deepEqual([...pids].sort(), [String(a.pid), String(b.pid)].sort(), 'both workers took part');
		const rows = (await dump(env)).filter((r) => r.type === 'test.record');
		assert.equal(rows.length, 1000);
		assert.ok(rows.every((r) => r.done_at !== null && r.dead_at === null && r.attempts === 1 && r.locked_until === null));
		assert.deepEqual(new Set(rows.map((r) => String(r.id))), new Set(byId.keys()));
		for (const w of [a, b]) assert.equal((await w.stop()).code, 0, w.logs());
		console.log(`# 1,000 jobs on 2 workers in ${elapsed} ms`);
	});

	test('recurring jobs are scheduled once per period by two workers', async () => {
		const { dir, env, log } = await setup();
		const clock = path.join(dir, 'clock');
		const hour = 3600000, period = 60000;
		const t0 = Math.floor(Date.now() / hour) * hour + 10 * period + 30000; // mid-period, 10 min into an hour
		setClock(clock, t0);
		const wenv = { ...env, DROPFIX_TEST_CLOCK_FILE: clock, DROPFIX_TEST_JOB_TICK_MS: String(period) };
		const [a, b] = [await worker(wenv), await worker(wenv)];
		const starts = [0, 1, 2].map((i) => t0 - (t0 % period) + i * period);
		for (let i = 0; i < starts.length; i++) {
			if (i > 0) setClock(clock, t0 + i * period);
			await waitFor(`tick of period ${i}`, () => readLog(log).some((l) => l.startsWith(`tick ${starts[i]} `)));
			await sleep(400); // both workers' schedulers have seen this period (poll 50 ms)
		}
		const rows = await dump(wenv);
		const ticks = rows.filter((r) => r.type === 'test.tick');
		assert.deepEqual(ticks.map((r) => r.key).sort(), starts.map((s) => `test.tick:0:${s}`).sort());
		assert.ok(ticks.every((r) => r.done_at !== null && r.attempts === 1));
		assert.equal(readLog(log).filter((l) => l.startsWith('tick ')).length, 3, 'each period ran once');
		// The real hourly cleanup: one row for this hour; the SQLite checkpoint is not scheduled here.
		const cleanup = rows.filter((r) => r.type === 'cleanup.expired');
		assert.deepEqual(cleanup.map((r) => r.key), [`cleanup.expired:0:${t0 - (t0 % hour)}`]);
		assert.equal(rows.filter((r) => r.type === 'sqlite.checkpoint').length, 0);
		for (const w of [a, b]) assert.equal((await w.stop()).code, 0, w.logs());
	});

	test('a job whose worker is killed with -9 runs again after its lease, and only then', async () => {
		const lease = 2500;
		const { env, log } = await setup({ DROPFIX_TEST_JOB_LEASE_MS: String(lease) });
		const a = await worker(env);
		await enqueue(env, 'test.sleep:1:{"ms":20000,"retry_ms":200}'); // A would sleep 20 s; B's retry 0.2 s
		const startA = await waitFor('worker A to start the job', () => readLog(log).find((l) => l.startsWith('start ')));
		const [, id, pidA, attemptA, atA] = startA.split(' ');
		assert.equal(pidA, String(a.pid));
		assert.equal(attemptA, '1');
		a.child.kill('SIGKILL');
		assert.equal((await a.exited).signal, 'SIGKILL');
		const b = await worker(env);
		// B claims other work meanwhile, so its claims really run while the lease holds.
		await enqueue(env, 'test.record:1');
		await waitFor('worker B to run another job', () => readLog(log).some((l) => /^\d+ \d+$/.test(l) && l.endsWith(` ${b.pid}`)), 10000);
		assert.ok(Date.now() < Number(atA) + lease - 100, 'B claimed other work while the lease still held');
		assert.ok(!readLog(log).some((l) => l.startsWith(`start ${id} ${b.pid} `)), 'B did not take the leased job early');
		const startB = await waitFor('worker B to take the job over', () => readLog(log).find((l) => l.startsWith(`start ${id} ${b.pid} `)), 10000);
		const [, , , attemptB, atB] = startB.split(' ');
		assert.equal(attemptB, '2');
		const gap = Number(atB) - Number(atA);
		assert.ok(gap >= lease - 200, `taken over ${gap} ms after the first start: not before the lease (${lease} ms) ran out`);
		assert.ok(gap < lease + 4000, `taken over ${gap} ms after the first start: promptly after the lease`);
		await waitFor('worker B to finish', () => readLog(log).some((l) => l.startsWith(`end ${id} ${b.pid} `)), 10000);
		const lines = readLog(log);
		assert.equal(lines.filter((l) => l.startsWith('start ')).length, 2);
		assert.equal(lines.filter((l) => l.startsWith('end ')).length, 1, 'A never finished, B finished once');
		const row = (await dump(env)).find((r) => String(r.id) === id);
		assert.equal(row.attempts, 2);
		assert.notEqual(row.done_at, null);
		assert.equal(row.dead_at, null);
		assert.equal(row.last_error, 'lease expired (worker lost)');
		assert.ok(row.locked_by.includes(`:${b.pid}:`));
		assert.equal((await b.stop()).code, 0, b.logs());
	});
});

// ---- SQLite: one worker ----

describe('jobs on SQLite (one worker)', () => {
	function setup(extra = {}) {
		const dir = tmpDir('dropfix-jobs-');
		const env = { DROPFIX_DATA_DIR: dir, DROPFIX_TEST_JOB_LOG: path.join(dir, 'jobs.log'), ...extra };
		return { dir, env, log: env.DROPFIX_TEST_JOB_LOG };
	}

	test('every job runs once; the housekeeping jobs run', async () => {
		const { env, log } = setup();
		await enqueue(env, 'test.record:300'); // also creates and migrates the database
		const w = await startWorker(env);
		await waitFor('300 log lines', () => readLog(log).length >= 300);
		await sleep(200);
		const ids = readLog(log).map((l) => l.split(' ')[0]);
		assert.equal(ids.length, 300);
		assert.equal(new Set(ids).size, 300);
		const rows = await dump(env);
		assert.equal(rows.filter((r) => r.type === 'test.record' && r.done_at !== null && r.attempts === 1).length, 300);
		for (const type of ['cleanup.expired', 'sqlite.checkpoint']) {
			const r = await waitFor(`${type} done`, async () => (await dump(env)).find((x) => x.type === type && x.done_at !== null));
			assert.equal(r.dead_at, null, `${type}: ${r.last_error}`);
		}
		assert.equal((await w.stop()).code, 0, w.logs());
	});

	test('a failing job is retried with backoff, then dead after max attempts (fake clock)', async () => {
		const { dir, env, log } = setup();
		const clock = path.join(dir, 'clock');
		let now = 1800000000000;
		setClock(clock, now);
		const cenv = { ...env, DROPFIX_TEST_CLOCK_FILE: clock };
		await enqueue(cenv, 'test.fail:1'); // test.fail: max 3 attempts
		const w = await startWorker(cenv);
		const row = async () => (await dump(cenv)).find((r) => r.type === 'test.fail');
		for (let attempt = 1; attempt <= 2; attempt++) {
			await waitFor(`attempt ${attempt}`, () => readLog(log).includes(`fail 1 ${attempt}`));
			const r = await waitFor('the retry to be recorded', async () => { const x = await row(); return x.attempts === attempt && x.locked_until === null && x; });
			const delay = r.run_at - now;
			const base = 10000 * 2 ** (attempt - 1);
			assert.ok(delay >= base && delay <= base * 1.25, `attempt ${attempt}: retry after ${delay} ms (base ${base})`);
			assert.equal(r.last_error, `test failure on attempt ${attempt}`);
			// Not before its time ...
			now = r.run_at - 1;
			setClock(clock, now);
			await sleep(300);
			assert.equal(readLog(log).length, attempt, 'no early retry');
			// ... and at its time.
			now = r.run_at;
			setClock(clock, now);
		}
		await waitFor('the last attempt', () => readLog(log).length === 3);
		const dead = await waitFor('dead', async () => { const x = await row(); return x.dead_at !== null && x; });
		assert.equal(dead.attempts, 3);
		assert.notEqual(dead.done_at, null);
		assert.equal(dead.last_error, 'test failure on attempt 3');
		now += 24 * 3600000;
		setClock(clock, now);
		await sleep(300);
		assert.equal(readLog(log).length, 3, 'a dead job never runs again');
		assert.equal((await w.stop()).code, 0, w.logs());
	});

	test('SIGTERM lets the job in hand finish, then exits 0', async () => {
		const { env, log } = setup();
		await enqueue(env, 'test.sleep:1:{"ms":1500}');
		const w = await startWorker(env);
		await waitFor('the job to start', () => readLog(log).some((l) => l.startsWith('start ')));
		const t0 = Date.now();
		const { code } = await w.stop('SIGTERM');
		assert.equal(code, 0, w.logs());
		assert.ok(Date.now() - t0 >= 1000, 'waited for the job');
		assert.ok(readLog(log).some((l) => l.startsWith(`end 1 ${w.pid} `)));
		const r = (await dump(env)).find((x) => x.type === 'test.sleep');
		assert.notEqual(r.done_at, null);
		assert.equal(r.attempts, 1);
	});

	test('the release binary has none of the test hooks', async () => {
		const dir = tmpDir('dropfix-jobs-');
		const r1 = await runBin(['worker', '--test-enqueue', 'test.record:1'], { bin: RELEASE_BIN, env: { DROPFIX_DATA_DIR: dir } });
		assert.equal(r1.code, 2);
		assert.match(r1.stderr, /unknown option '--test-enqueue'/);
		const r2 = await runBin(['worker'], { bin: RELEASE_BIN, env: { DROPFIX_DATA_DIR: dir, DROPFIX_TEST_JOB_LOG: path.join(dir, 'x') } });
		assert.equal(r2.code, 1);
		assert.match(r2.stderr, /DROPFIX_TEST_JOB_LOG is set, but this is a release build/);
		const help = await runBin(['worker', '--help'], { bin: RELEASE_BIN });
		assert.equal(help.code, 0);
		assert.match(help.stdout, /usage: dropfix worker/);
		assert.doesNotMatch(help.stdout, /test/i);
		const strings = fs.readFileSync(RELEASE_BIN).toString('latin1');
		for (const s of ['test.record', 'test.sleep', 'test.tick', '--test-enqueue', '--test-dump'])
			assert.ok(!strings.includes(s), `release binary contains ${s}`);
	});
});

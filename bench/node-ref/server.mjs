// Node.js reference server for `bench/run.sh ingest` (issue 5's measurement): fastify +
// better-sqlite3@12 answering POST /v1/batch with the same JSON body bench/ingest.lua sends
// ({"key": "...", "batch": [{type, user_id, name, message_id, properties}, ...]}).
// Each request is parsed and its events are stored with ONE multi-row INSERT statement
// (autocommit: one transaction, one WAL commit per request), then answered 200
// {"accepted": n}. The database is in WAL mode with synchronous = FULL, or NORMAL when
// NODEREF_SYNC=NORMAL (bench/noderef.sh sets it from DROPFIX_BENCH_SYNC so it matches
// dropfix's DROPFIX_SQLITE_SYNCHRONOUS in the same run). No key check, de-duplication or
// aggregates: it is the floor a straightforward Node service would have to beat.
//
// Environment: NODEREF_PORT (required), NODEREF_DB (database file, required),
// NODEREF_SYNC (FULL | NORMAL, default FULL). GET /healthz answers 200 once listening.
import Fastify from 'fastify';
import Database from 'better-sqlite3';

const port = Number.parseInt(process.env.NODEREF_PORT ?? '', 10);
const dbPath = process.env.NODEREF_DB;
const sync = (process.env.NODEREF_SYNC ?? 'FULL').toUpperCase();
if (!Number.isInteger(port) || port <= 0 || port > 65535 || !dbPath || !['FULL', 'NORMAL'].includes(sync)) {
	console.error('noderef: need NODEREF_PORT, NODEREF_DB and NODEREF_SYNC in FULL|NORMAL');
	process.exit(2);
}

const db = new Database(dbPath);
db.pragma('journal_mode = WAL');
db.pragma(`synchronous = ${sync}`);
db.exec(`CREATE TABLE IF NOT EXISTS events (
	id INTEGER PRIMARY KEY,
	received_ms INTEGER NOT NULL,
	type TEXT NOT NULL,
	user_id TEXT,
	name TEXT,
	message_id TEXT,
	properties TEXT
)`);
const gotSync = db.pragma('synchronous', { simple: true }); // 1 = NORMAL, 2 = FULL
const gotMode = db.pragma('journal_mode', { simple: true });
if (gotMode !== 'wal' || gotSync !== (sync === 'FULL' ? 2 : 1)) {
	console.error(`noderef: sqlite refused the settings (journal_mode=${gotMode}, synchronous=${gotSync})`);
	process.exit(1);
}

// One prepared multi-row INSERT per batch size (capped by the body limit anyway).
const MAX_EVENTS = 1000;
const inserts = new Map();
function insertFor(n) {
	let st = inserts.get(n);
	if (!st) {
		const rows = new Array(n).fill('(?, ?, ?, ?, ?, ?)').join(', ');
		st = db.prepare(`INSERT INTO events (received_ms, type, user_id, name, message_id, properties) VALUES ${rows}`);
		inserts.set(n, st);
	}
	return st;
}

const str = (v) => (typeof v === 'string' ? v : null);

const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
app.get('/healthz', async () => ({ ok: true }));
app.post('/v1/batch', async (req, reply) => {
	const body = req.body;
	const batch = body && Array.isArray(body.batch) ? body.batch : null;
	if (!batch || batch.length === 0 || batch.length > MAX_EVENTS || typeof body.key !== 'string') {
		reply.code(400);
		return { error: { code: 'invalid_body', message: 'need {"key": "...", "batch": [1..1000 events]}' } };
	}
	const now = Date.now();
	const params = [];
	for (const ev of batch) {
		if (!ev || typeof ev !== 'object' || typeof ev.type !== 'string') {
			reply.code(400);
			return { error: { code: 'invalid_event', message: 'every event needs a string "type"' } };
		}
		params.push(now, ev.type, str(ev.user_id), str(ev.name), str(ev.message_id),
			ev.properties === undefined ? null : JSON.stringify(ev.properties));
	}
	insertFor(batch.length).run(params);
	return { accepted: batch.length };
});

const stop = () => {
	app.close().then(() => {
		db.close();
		process.exit(0);
	});
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
await app.listen({ host: '127.0.0.1', port });

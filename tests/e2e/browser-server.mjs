// One chromium for a whole e2e run (ARCHITECTURE §8b "CI budget"): scripts/test.sh starts
// this, reads the WebSocket endpoint from its first stdout line and passes it to the test
// files as DROPFIX_E2E_WS_ENDPOINT (lib.mjs connects instead of launching). Stops on
// SIGTERM/SIGINT, or when its parent goes away.
import { createRequire } from 'node:module';

import { CHROMIUM, CHROMIUM_ARGS, unavailableReason } from './lib.mjs';

const require = createRequire(import.meta.url);
const why = unavailableReason();
if (why) {
	process.stderr.write(`${why}\n`);
	process.exit(1);
}
const { chromium } = require('playwright-core');

const server = await chromium.launchServer({
	executablePath: CHROMIUM,
	headless: true,
	args: CHROMIUM_ARGS,
	timeout: 30000,
	host: '127.0.0.1',
});
process.stdout.write(`${server.wsEndpoint()}\n`);

let stopping = false;
async function stop() {
	if (stopping) return;
	stopping = true;
	await server.close().catch(() => {});
	process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
const parent = process.ppid;
setInterval(() => {
	if (process.ppid !== parent) stop();
}, 1000);

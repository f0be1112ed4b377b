// Browser-test harness: one Debian chromium per test file driven by playwright-core, the
// real server started by tests/http/lib.mjs, an axe-core check, console/CSP watching and
// screenshots on failure.
//
// Environment:
//   DROPFIX_BIN            binary under test (scripts/test.sh passes the plain test build,
//                          build/test/dropfix: ASan is too slow for a browser run)
//   DROPFIX_CHROMIUM       chromium executable (default /usr/bin/chromium)
//   DROPFIX_E2E_REQUIRED=1 set by scripts/test.sh: a missing chromium or playwright-core
//                          fails the run instead of skipping it
//   DROPFIX_E2E_ARTIFACTS  where failure screenshots and page HTML go
//                          (default $DROPFIX_TEST_TMP/e2e-artifacts)
//   DROPFIX_E2E_WS_ENDPOINT the run's shared chromium (browser-server.mjs); unset, each
//                          test file launches its own
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

import { startServer as startHttpServer, tmpDir, BIN } from '../http/lib.mjs';
import { account, installation, serve, workspace } from '../http/wslib.mjs';

export { tmpDir, BIN, runBin, sleep } from '../http/lib.mjs';
export { simulateVia } from '../http/wslib.mjs';

const require = createRequire(import.meta.url);
export const CHROMIUM = process.env.DROPFIX_CHROMIUM || '/usr/bin/chromium';
export const REQUIRED = process.env.DROPFIX_E2E_REQUIRED === '1';

// The CSP every application page carries (ARCHITECTURE §5).
export const CSP =
	"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

// Chromium flags: root needs --no-sandbox; the background-networking flags keep chromium
// from dialling out (this machine's network is closed, and a test must not depend on it).
// playwright makes a fresh temporary --user-data-dir for every launch by itself and
// removes it on close (it refuses one passed in args).
export const CHROMIUM_ARGS = [
	'--no-sandbox',
	'--disable-gpu',
	'--disable-quic',
	'--no-first-run',
	'--no-default-browser-check',
	'--disable-background-networking',
	'--disable-component-update',
	'--disable-sync',
	'--disable-default-apps',
	'--disable-extensions',
	'--metrics-recording-only',
	'--disable-dev-shm-usage',
];

// Why the browser tests cannot run here, or null when they can.
export function unavailableReason() {
	if (!fs.existsSync(CHROMIUM)) return `${CHROMIUM} not found (apt-get install chromium, or run scripts/install-deps.sh)`;
	try {
		require.resolve('playwright-core');
		require.resolve('axe-core/axe.min.js');
	} catch {
		return 'playwright-core or axe-core missing from node_modules (run npm ci)';
	}
	if (!fs.existsSync(BIN)) return `${BIN} not built (make build/test/dropfix)`;
	return null;
}

// Options for node:test's describe/test: { skip: reason } when the tests cannot run
// outside `make test`; under scripts/test.sh (DROPFIX_E2E_REQUIRED=1) a missing
// prerequisite is an error, never a skip.
export function e2eOptions() {
	const why = unavailableReason();
	if (!why) return {};
	if (REQUIRED) throw new Error(`browser tests cannot run: ${why}`);
	process.stderr.write(`e2e: SKIPPED, ${why}\n`);
	return { skip: `browser tests skipped: ${why}` };
}

// Options for the files that drive chromium against fakes and need no dropfix binary
// (their tests against the real server skip themselves): only chromium and
// playwright-core are required; missing, { skip: reason }, or an error under
// scripts/test.sh (DROPFIX_E2E_REQUIRED=1).
export function browserOptions() {
	let why = null;
	if (!fs.existsSync(CHROMIUM)) why = `${CHROMIUM} not found`;
	else {
		try {
			require.resolve('playwright-core');
		} catch {
			why = 'playwright-core missing (npm ci)';
		}
	}
	if (!why) return {};
	if (REQUIRED) throw new Error(`browser tests cannot run: ${why}`);
	return { skip: why };
}

// A headless chromium: the run's shared one when scripts/test.sh started it
// (DROPFIX_E2E_WS_ENDPOINT, see browser-server.mjs), else a new one for this file.
// browser.close() disconnects from a shared one and closes an own one.
export async function launchBrowser() {
	const { chromium } = require('playwright-core');
	const ws = process.env.DROPFIX_E2E_WS_ENDPOINT;
	if (ws) return chromium.connect(ws, { timeout: 30000 });
	return chromium.launch({
		executablePath: CHROMIUM,
		headless: true,
		args: CHROMIUM_ARGS,
		timeout: 30000,
	});
}

// A fake clock file for DROPFIX_TEST_CLOCK_FILE (src/core/clock.h): the server's time
// stands still at whatever was written last. Starts 5 s into the current real 30-s TOTP
// step so cookie expiry dates stay near the browser's real clock.
export function fakeClock(dir, startSecs) {
	const file = path.join(dir, 'clock');
	let now = startSecs ?? Math.floor(Date.now() / 1000 / 30) * 30 + 5;
	const write = () => fs.writeFileSync(file, `${now}\n`);
	write();
	return {
		file,
		now: () => now,
		set(secs) { now = secs; write(); },
		advance(secs) { now += secs; write(); },
	};
}

// A TOTP code from Debian's oathtool for base32 secret at the fake clock's time.
export function totp(secret, nowSecs) {
	const r = spawnSync('oathtool', ['--totp', '--base32', '--now', `@${nowSecs}`, secret.replace(/\s+/g, '')], {
		encoding: 'utf8',
	});
	if (r.status !== 0) throw new Error(`oathtool failed: ${r.stderr || r.error}`);
	return r.stdout.trim();
}

// Starts the server (tests/http/lib.mjs) with the fake clock; resolves the handle plus clock.
export async function startServer({ env = {}, args = [], bin = BIN } = {}) {
	const dir = tmpDir('dropfix-e2e-');
	const clock = fakeClock(dir);
	const srv = await startHttpServer({ env: { DROPFIX_TEST_CLOCK_FILE: clock.file, ...env }, args, bin });
	srv.clock = clock;
	return srv;
}

// A SQLite installation on the real clock (no fake clock file) with one account, `email`,
// owning one workspace, `name`, and the server on it: resolves {inst, ws, srv} (ws as
// tests/http/wslib.mjs workspace() gives it). The caller stops srv and drops inst.
export async function servedWorkspace(email = 'founder@example.com', name = 'Shop') {
	const inst = await installation({ clock: false });
	await account(inst, email);
	const ws = await workspace(inst, email, name);
	const srv = await serve(inst);
	return { inst, ws, srv };
}

// Puts a session cookie ("name=value", as the /__test/session hook gives it) into a
// browser context for url, so the context's pages are signed in.
export async function addSession(context, cookie, url) {
	const eq = cookie.indexOf('=');
	await context.addCookies([{ name: cookie.slice(0, eq), value: cookie.slice(eq + 1), url }]);
}

export function artifactsDir() {
	const dir =
		process.env.DROPFIX_E2E_ARTIFACTS ||
		path.join(process.env.DROPFIX_TEST_TMP || os.tmpdir(), 'e2e-artifacts');
	fs.mkdirSync(dir, { recursive: true });
	return dir;
}

// Saves a full-page screenshot and the page's HTML for a failed step; returns the
// screenshot path (never throws: a failing test should report its own error).
export async function saveFailure(page, name) {
	const safe = name.replace(/[^A-Za-z0-9_.-]+/g, '_').slice(0, 80);
	const base = path.join(artifactsDir(), `${Date.now()}-${safe}`);
	try {
		await page.screenshot({ path: `${base}.png`, fullPage: true, timeout: 5000 });
		fs.writeFileSync(`${base}.html`, `<!-- ${page.url()} -->\n${await page.content()}`);
		process.stderr.write(`e2e: failure screenshot ${base}.png (url ${page.url()})\n`);
		return `${base}.png`;
	} catch (e) {
		process.stderr.write(`e2e: could not save failure screenshot: ${e.message}\n`);
		return null;
	}
}

// Runs fn(); on failure saves a screenshot of page (or of pages(), for steps that use
// several) and rethrows.
export async function step(name, page, fn) {
	try {
		return await fn();
	} catch (e) {
		for (const p of Array.isArray(page) ? page : [page]) if (p && !p.isClosed()) await saveFailure(p, name);
		throw e;
	}
}

// Watches a page: console errors and warnings, uncaught exceptions, CSP violations
// (chromium reports them on the console and as securitypolicyviolation events) and the
// security headers of every document the page loads.
// page.watch.problems() lists what went wrong; page.watch.expect(re) allows the next
// console error whose text, with the resource URL appended in brackets, matches re (e.g.
// the "status of 403" message of an expected 403); page.watch.clear() forgets so far.
export async function watchPage(page, origin) {
	const problems = [];
	const allowed = [];
	const takeAllowed = (text) => {
		const i = allowed.findIndex((re) => re.test(text));
		if (i < 0) return false;
		allowed.splice(i, 1);
		return true;
	};
	page.on('console', (msg) => {
		const type = msg.type();
		if (type !== 'error' && type !== 'warning') return;
		const where = msg.location()?.url || page.url();
		const text = `${msg.text()} [${where}]`;
		// No page links an icon, so chromium asks for /favicon.ico and logs its 404: not
		// an application error.
		if (new URL(where, page.url()).pathname === '/favicon.ico') return;
		if (takeAllowed(text)) return;
		problems.push(`console ${type}: ${text}`);
	});
	page.on('pageerror', (err) => problems.push(`uncaught exception: ${err.message} (at ${page.url()})`));
	page.on('response', (res) => {
		const req = res.request();
		if (req.resourceType() !== 'document' || new URL(res.url()).origin !== origin) return;
		const csp = res.headers()['content-security-policy'];
		if (csp !== CSP) problems.push(`document ${res.url()} (${res.status()}) has CSP ${JSON.stringify(csp)}`);
		if (res.headers()['x-content-type-options'] !== 'nosniff')
			problems.push(`document ${res.url()} lacks X-Content-Type-Options: nosniff`);
	});
	// Reported from inside the page; the binding runs in playwright's utility world, so
	// the page's CSP does not apply to it.
	await page.exposeBinding('__dropfixCspViolation', (_src, v) => problems.push(`CSP violation: ${v} (at ${page.url()})`));
	await page.addInitScript(() => {
		document.addEventListener('securitypolicyviolation', (e) => {
			// eslint-disable-next-line no-undef
			window.__dropfixCspViolation(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile}:${e.lineNumber}`);
		});
	});
	page.watch = {
		problems: () => problems.slice(),
		expect: (re) => allowed.push(re),
		clear: () => problems.splice(0),
	};
	return page.watch;
}

// A new browser context (its own cookie jar: one per user) and a watched page on it.
export async function newUser(browser, baseURL) {
	const context = await browser.newContext({ baseURL, locale: 'en-US', timezoneId: 'UTC' });
	context.setDefaultTimeout(10000);
	const page = await context.newPage();
	await watchPage(page, new URL(baseURL).origin);
	return { context, page };
}

// Fails when the watched page saw console errors, exceptions or CSP violations.
export function assertClean(page, where = '') {
	const p = page.watch.problems();
	if (p.length) throw new Error(`page problems${where ? ` ${where}` : ''}:\n  ${p.join('\n  ')}`);
}

// What the page's DOM contains that the CSP forbids: inline <script>, on* handler
// attributes, javascript: URLs, style attributes and <style> elements. Our pages have
// none; a page that had one would depend on it running, which the CSP blocks.
export async function inlineCode(page) {
	return page.evaluate(() => {
		const found = [];
		for (const s of document.querySelectorAll('script')) if (!s.src) found.push(`inline <script>: ${s.textContent.slice(0, 60)}`);
		for (const s of document.querySelectorAll('style')) found.push(`<style>: ${s.textContent.slice(0, 60)}`);
		for (const el of document.querySelectorAll('*')) {
			for (const a of el.attributes) {
				const n = a.name.toLowerCase();
				if (n.startsWith('on')) found.push(`<${el.localName} ${n}=…>`);
				if (n === 'style') found.push(`<${el.localName} style="${a.value.slice(0, 40)}">`);
				if ((n === 'href' || n === 'src' || n === 'action' || n === 'formaction') && /^\s*javascript:/i.test(a.value))
					found.push(`<${el.localName} ${n}="javascript:…">`);
			}
		}
		return found;
	});
}

let axeSource = null;

// Runs axe-core on the page and fails on any violation of impact serious or critical.
// axe is evaluated through the DevTools protocol (page.evaluate), which the page's CSP
// does not govern, so nothing is injected as a <script> and the CSP stays as served.
// Returns the list of minor/moderate violations for the caller's information.
export async function axeCheck(page, label = page.url()) {
	if (!axeSource) axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
	const hasAxe = await page.evaluate(() => typeof window.axe === 'object');
	if (!hasAxe) await page.evaluate(axeSource);
	const violations = await page.evaluate(async () => {
		// eslint-disable-next-line no-undef
		const r = await axe.run(document, { resultTypes: ['violations'] });
		return r.violations.map((v) => ({
			id: v.id,
			impact: v.impact,
			help: v.help,
			nodes: v.nodes.slice(0, 5).map((n) => `${n.target.join(' ')}: ${n.failureSummary.replace(/\s+/g, ' ').slice(0, 200)}`),
		}));
	});
	const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
	if (bad.length) {
		const text = bad.map((v) => `  [${v.impact}] ${v.id}: ${v.help}\n    ${v.nodes.join('\n    ')}`).join('\n');
		const err = new Error(`axe: ${bad.length} serious/critical violation(s) on ${label}:\n${text}`);
		err.violations = bad;
		throw err;
	}
	return violations;
}

// The checks every distinct page gets: no serious axe violation, no inline code, no
// console problem so far.
export async function checkPage(page, label = new URL(page.url()).pathname) {
	const inline = await inlineCode(page);
	if (inline.length) throw new Error(`inline code on ${label}:\n  ${inline.join('\n  ')}`);
	await axeCheck(page, label);
	assertClean(page, `on ${label}`);
}

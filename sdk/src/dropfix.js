/*! DropFix browser SDK | MIT */
// Source of sdk/dist/dropfix.js (built by scripts/build-sdk.sh; do not edit the dist files).
// Dependency-free, ES2017, runs as a classic script. PRODUCT.md §2 is the contract.
//
// Privacy rules this file keeps (the Security page promises them):
// - nothing leaves the browser before it went through clean()/props(): strings are cut to
//   their cap FIRST and masked after (a mask cannot be undone by a later cut), query strings
//   and fragments are stripped, form/input values are never read, [data-dropfix-ignore]
//   subtrees are skipped;
// - one localStorage entry ("dropfix": anonymous id, session id and times, the opt-out or consent flag
//   and a short hash of the last identify) and nothing else; none at all in consent mode
//   before optIn(), under DNT/GPC when the workspace honours them, or without init();
// - the workspace's own settings (consent required, honour DNT/GPC) come from
//   GET <host>/v1/config before anything is stored or sent: until the answer, events stay in
//   memory only; the script tag's data-consent / data-respect-dnt can only add to them;
// - ingest only over HTTPS, except localhost / 127.0.0.1 / [::1] for development.
(function (w) {
	'use strict';
	if (typeof window === 'undefined' || (w.DropFix && w.DropFix.version)) return;
	var d = w.document, nav = w.navigator, loc = w.location;
	var VERSION = typeof __DROPFIX_VERSION__ === 'string' ? __DROPFIX_VERSION__ : 'dev';
	var STORE = 'dropfix';
	var SESSION_MS = 30 * 60 * 1000;
	var MAX_QUEUE = 500, MAX_BATCH = 50, MAX_STR = 256, MAX_TEXT = 64, MAX_KEYS = 32, MAX_DEPTH = 4;
	var IGNORE = '[data-dropfix-ignore]';
	var origFetch = w.fetch, OrigXHR = w.XMLHttpRequest;

	var cfg = null;     // set by init(); null = not started
	var on = false;     // capturing allowed right now
	var held = true;    // the workspace's settings are not known yet: nothing stored or sent
	var wsc = {};       // the workspace's settings (GET /v1/config): c consent required, d honour DNT/GPC
	var wantIn = false, wantOut = false, wantFlush = false; // optIn()/optOut()/flush() called while held
	var st = {};        // the stored entry (memory copy)
	var userId = null, queue = [], inflight = false, timer = 0, retryAt = 0, attempt = 0;
	var lastPath = null, rage = { el: null, n: 0, t: 0 };

	function now() { return Date.now(); }
	// The host app must never see an exception of ours (a throwing getter in properties, an
	// odd DOM): every entry point — public method, listener, network callback — is wrapped.
	function safe(f) {
		return function () {
			try {
				return f.apply(this, arguments);
			} catch (e) {}
		};
	}
	function hex(n) {
		var b = new Uint8Array(n), s = '';
		w.crypto.getRandomValues(b);
		for (var i = 0; i < n; i++) s += (b[i] + 256).toString(16).slice(1);
		return s;
	}
	function rnd() {
		var c = w.crypto;
		return c && c.randomUUID ? c.randomUUID() : hex(16);
	}
	// Message ids are time-ordered (the UUIDv7 layout: 48-bit milliseconds, then 74 random
	// bits), so the server's de-duplication table grows at its end instead of at random
	// places. Anonymous and session ids stay fully random.
	function msgId() {
		var t = ('00000000000' + Date.now().toString(16)).slice(-12), h = hex(10);
		return t.slice(0, 8) + '-' + t.slice(8) + '-7' + h.slice(0, 3) + '-' +
			((parseInt(h[3], 16) & 3) | 8).toString(16) + h.slice(4, 7) + '-' + h.slice(7, 19);
	}

	// ---- sanitisation -------------------------------------------------------------------
	function luhn(digits) {
		var sum = 0, alt = false;
		for (var i = digits.length - 1; i >= 0; i--) {
			var n = digits.charCodeAt(i) - 48;
			if (alt && (n *= 2) > 9) n -= 9;
			sum += n;
			alt = !alt;
		}
		return sum % 10 === 0;
	}
	var RE_EMAIL = /[^\s@<>()[\]"',;:/]+@[^\s@<>()[\]"',;:/]+\.[a-z]{2,}/gi;
	var RE_CARD = /\d(?:[ -]?\d){12,18}/g;
	var RE_PHONE = /\+?\(?\d[\d ().-]{5,}\d/g;
	var RE_TOKEN = /[A-Za-z0-9_\-+=]{20,}/g;
	var RE_HEX = /\b[0-9a-fA-F]{32,}\b/g;
	function mask(s) {
		if (!/[\d@]/.test(s)) return s; // every pattern needs a digit or an @: the common case is cheap
		return s
			.replace(RE_EMAIL, '[email]')
			.replace(RE_CARD, function (m) {
				var dg = m.replace(/\D/g, '');
				return dg.length >= 13 && luhn(dg) ? '[card]' : m;
			})
			.replace(RE_PHONE, function (m) {
				// +…, (…) or two separators (415-555-0100), or 10+ bare digits; not a date
				var n = m.replace(/\D/g, '').length;
				var sep = /^\+|\(/.test(m) || /\d[ .-]+\d+[ .-]+\d/.test(m);
				return n >= 7 && n <= 15 && (sep || n >= 10) && !/^\d{4}-\d\d-\d\d$/.test(m) ? '[phone]' : m;
			})
			.replace(RE_TOKEN, function (m) {
				// secret-looking: digits with both cases (API keys, JWT parts), or 32+ mixed
				var dg = /\d/.test(m), lo = /[a-z]/.test(m), up = /[A-Z]/.test(m);
				return dg && (lo && up || m.length >= 32 && (lo || up)) ? '[token]' : m;
			})
			.replace(RE_HEX, '[token]');
	}
	// Cut to max characters, then mask (in that order, so a cut cannot expose a half mask).
	function clean(s, max) {
		s = String(s);
		if (s.length > (max || MAX_STR)) s = s.slice(0, max || MAX_STR);
		return mask(s);
	}
	function props(v, depth) {
		if (v == null || typeof v === 'boolean') return v;
		if (typeof v === 'number') return isFinite(v) ? v : null;
		if (typeof v === 'string') return clean(v);
		if (typeof v !== 'object' || depth >= MAX_DEPTH) return undefined;
		var out, i = 0, k, x;
		if (Array.isArray(v)) {
			out = [];
			for (; i < v.length && i < MAX_KEYS; i++) {
				x = props(v[i], depth + 1);
				if (x !== undefined) out.push(x);
			}
			return out;
		}
		out = {};
		for (k in v) {
			if (!Object.prototype.hasOwnProperty.call(v, k)) continue;
			if (i >= MAX_KEYS) break;
			x = props(v[k], depth + 1);
			if (x !== undefined) {
				out[clean(k, 64)] = x;
				i++;
			}
		}
		return out;
	}
	// Path of a URL without query or fragment (allow-listed query parameters kept), masked.
	function urlPath(u, keepQuery) {
		try {
			u = new URL(u, loc.href);
		} catch (e) {
			return '';
		}
		var q = '';
		if (keepQuery && cfg && cfg.allowQuery.length) {
			cfg.allowQuery.forEach(function (k) {
				var v = u.searchParams.get(k);
				if (v != null) q += (q ? '&' : '?') + encodeURIComponent(k) + '=' + encodeURIComponent(clean(v, 64));
			});
		}
		return clean(u.pathname, 200) + q;
	}
	function ignored(el) {
		return !!(el && el.closest && el.closest(IGNORE));
	}
	// Visible text of el, skipping form controls, editable areas and ignored subtrees.
	function text(el) {
		var out = '';
		(function walk(n) {
			for (var c = n.firstChild; c && out.length <= MAX_TEXT; c = c.nextSibling) {
				if (c.nodeType === 3) out += c.nodeValue;
				else if (c.nodeType === 1 && !/^(INPUT|TEXTAREA|SELECT|SCRIPT|STYLE|OPTION)$/.test(c.tagName) &&
					!c.hasAttribute('data-dropfix-ignore') && !c.isContentEditable) walk(c);
			}
		})(el);
		return clean(out.replace(/\s+/g, ' ').trim(), MAX_TEXT);
	}
	function selector(el) {
		var parts = [];
		for (var i = 0; el && el.nodeType === 1 && i < 4; i++, el = el.parentElement) {
			var s = el.tagName.toLowerCase(), id = el.getAttribute('id');
			if (id && /^[A-Za-z][\w-]{0,40}$/.test(id) && !/\d{3}/.test(id)) {
				parts.unshift(s + '#' + id);
				break;
			}
			var tid = el.getAttribute('data-testid');
			if (tid && /^[\w-]{1,40}$/.test(tid)) s += '[data-testid="' + tid + '"]';
			else {
				var cls = (el.getAttribute('class') || '').split(/\s+/).filter(function (c) {
					return /^[A-Za-z][\w-]{0,30}$/.test(c) && !/\d{2}/.test(c);
				});
				if (cls.length) s += '.' + cls.slice(0, 2).join('.');
				var p = el.parentElement;
				if (p) {
					var same = 0, idx = 0;
					for (var c = p.firstElementChild; c; c = c.nextElementSibling)
						if (c.tagName === el.tagName && ++same && c === el) idx = same;
					if (same > 1) s += ':nth-of-type(' + idx + ')';
				}
			}
			parts.unshift(s);
		}
		return clean(parts.join(' > '), 200);
	}

	// ---- storage: one entry, never written unless allowed --------------------------------
	function load() {
		try {
			return JSON.parse(w.localStorage.getItem(STORE)) || {};
		} catch (e) {
			return {};
		}
	}
	function consentMode() {
		return cfg.consent || wsc.c;
	}
	function save(force) {
		if (!force && (held || consentMode() && !st.c)) return; // nothing stored before it is allowed
		try {
			w.localStorage.setItem(STORE, JSON.stringify(st));
		} catch (e) {}
	}
	function forget() {
		try {
			w.localStorage.removeItem(STORE);
		} catch (e) {}
	}
	// Makes sure there is a live session; opens a new one (and ends the old) after 30 min idle.
	function touch() {
		var t = now();
		if (!st.a) st.a = rnd();
		if (!st.s || t - st.t > SESSION_MS) {
			if (st.s && st.ss) emit('session', 'end', { duration_s: Math.round((st.t - st.ss) / 1000) }, null, st.t);
			st.s = rnd();
			st.ss = t;
			st.t = t;
			save();
			emit('session', 'start', {});
		} else if (t - st.t > 60000) {
			st.t = t;
			save();
		}
	}

	// ---- events ---------------------------------------------------------------------------
	var pc = {};
	function pageCtx() { // sanitised once per location and title, not once per event
		if (pc.h !== loc.href || pc.t !== d.title)
			pc = { h: loc.href, t: d.title, v: { path: urlPath(loc.href), title: clean(d.title, 200) } };
		return pc.v;
	}
	function emit(type, name, properties, traits, ts) {
		if (!on) return;
		var e = {
			type: type,
			name: name,
			anonymous_id: st.a,
			session_id: st.s,
			timestamp: new Date(ts || now()).toISOString(),
			message_id: msgId(),
			context: {
				sdk: { name: 'dropfix.js', version: VERSION },
				page: pageCtx(),
				user_agent: nav.userAgent,
				locale: nav.language,
			},
		};
		if (userId) e.user_id = userId;
		if (traits) e.traits = traits;
		else e.properties = properties;
		if (queue.length >= MAX_QUEUE) queue.shift();
		queue.push(e);
		if (queue.length >= MAX_BATCH / 2) schedule(0);
		else if (!timer) schedule(cfg.interval);
	}
	function event(type, name, properties) {
		if (!on) return;
		touch();
		emit(type, name, properties);
	}
	function pageView() {
		var p = urlPath(loc.href, true);
		lastPath = p;
		var ref = '';
		try {
			if (d.referrer) ref = new URL(d.referrer).origin;
		} catch (e) {}
		event('page', p, { path: p, title: clean(d.title, 200), referrer: ref });
	}

	// ---- transport ------------------------------------------------------------------------
	function schedule(ms) {
		if (timer) clearTimeout(timer);
		timer = setTimeout(flush, Math.max(ms, retryAt - now(), 0));
	}
	function body(batch) {
		var b = { key: cfg.key, batch: batch, sent_at: new Date().toISOString() };
		if (st.c) b.consent = true; // consent mode: the server drops browser batches without it
		return JSON.stringify(b);
	}
	function retryLater(batch, after) {
		queue = batch.concat(queue).slice(-MAX_QUEUE);
		attempt = Math.min(attempt + 1, 8);
		var back = Math.min(60000, 1000 * Math.pow(2, attempt - 1)) * (0.5 + Math.random() / 2);
		retryAt = now() + Math.max(back, after || 0);
	}
	function flush() {
		timer = 0;
		if (!on || held || inflight || !queue.length) return; // done(), ready() or the next emit() reschedules
		if (nav.onLine === false) return schedule(cfg.interval);
		var batch = queue.splice(0, MAX_BATCH);
		var data = body(batch);
		inflight = true;
		var done = function (status, retryAfter) {
			inflight = false;
			if (status === 0 || status === 429 || status >= 500) {
				var ra = parseFloat(retryAfter);
				if (isNaN(ra) && retryAfter) ra = (Date.parse(retryAfter) - now()) / 1000;
				retryLater(batch, ra > 0 ? Math.min(ra, 3600) * 1000 : 0);
			} else {
				attempt = 0;
				retryAt = 0;
			}
			if (queue.length) schedule(0);
		};
		// text/plain keeps the request CORS-simple (no preflight); credentials never travel.
		if (origFetch) {
			origFetch.call(w, cfg.url, {
				method: 'POST',
				body: data,
				headers: { 'Content-Type': 'text/plain;charset=UTF-8' },
				credentials: 'omit',
				keepalive: data.length < 60000,
			}).then(function (r) {
				done(r.status, r.headers.get('Retry-After'));
			}, function () {
				done(0);
			});
		} else {
			var x = new OrigXHR();
			x.open('POST', cfg.url);
			x.setRequestHeader('Content-Type', 'text/plain;charset=UTF-8');
			x.onloadend = function () {
				done(x.status, x.getResponseHeader('Retry-After'));
			};
			x.send(data);
		}
	}
	// Leaving the page: everything queued goes by sendBeacon (CORS-simple text/plain body).
	var beacon = safe(function () {
		if (!on || held || !nav.sendBeacon) return;
		while (queue.length) {
			var batch = queue.slice(0, MAX_BATCH);
			if (!nav.sendBeacon(cfg.url, body(batch))) break;
			queue.splice(0, batch.length);
		}
	});

	// ---- autocapture ----------------------------------------------------------------------
	var onClick = safe(function (ev) {
		var el = ev.target;
		if (!on || !el || el.nodeType !== 1 || ignored(el)) return;
		el = el.closest('a,button,[role=button],[role=link],input,label,summary,select,textarea') || el;
		var t = now();
		// A rage click: the 3rd click on one element within 1 s of the first; further clicks
		// of that second are folded into it.
		if (rage.el === el && t - rage.t < 1000) rage.n++;
		else {
			rage.n = 1;
			rage.t = t;
		}
		rage.el = el;
		if (rage.n > 3) return;
		var tag = el.tagName.toLowerCase();
		var label = /^(input|select|textarea)$/.test(tag) ? '' : text(el);
		var p = { text: label, tag: tag, selector: selector(el), path: urlPath(loc.href) };
		if (rage.n === 3) p.rage = true;
		var aria = el.getAttribute('aria-label');
		event('click', label || (aria && clean(aria, MAX_TEXT)) || tag, p);
	});
	var onSubmit = safe(function (ev) {
		var f = ev.target;
		if (!on || !f || f.tagName !== 'FORM' || ignored(f)) return;
		// getAttribute, not f.id / f.action: a field named "id" or "action" shadows those.
		var id = f.getAttribute('id'), act = f.getAttribute('action');
		var form = id ? clean(id, 64) : urlPath(act == null ? loc.href : act);
		var n = 0, els = f.querySelectorAll('input,select,textarea');
		for (var i = 0; i < els.length; i++)
			if (!/^(submit|button|reset|image|hidden)$/.test(els[i].type)) n++;
		event('submit', form, { form: form, path: urlPath(loc.href), fields: n });
	});
	var onNav = safe(function () {
		setTimeout(function () {
			if (on && urlPath(loc.href, true) !== lastPath) pageView();
		}, 0);
	});
	// An API call of the app: same origin (or an allow-listed origin), never to our ingest.
	var api = safe(function (method, url, status, start) {
		if (!on) return;
		var u;
		try {
			u = new URL(url, loc.href);
		} catch (e) {
			return;
		}
		if (u.origin === cfg.origin || (u.origin !== loc.origin && cfg.apiOrigins.indexOf(u.origin) < 0)) return;
		var m = String(method || 'GET').toUpperCase().slice(0, 10), p = urlPath(u.href);
		event('api', m + ' ' + p, { method: m, path: p, status: status, duration_ms: Math.round(now() - start) });
	});
	function wrapNetwork() {
		if (origFetch) {
			w.fetch = function (input, init) {
				var start = now();
				var url = typeof input === 'string' ? input : input && (input.url || String(input));
				var method = (init && init.method) || (input && input.method) || 'GET';
				var r = origFetch.apply(this, arguments);
				r.then(function (res) {
					api(method, url, res.status, start);
				}, function () {
					api(method, url, 0, start);
				});
				return r;
			};
		}
		if (OrigXHR) {
			var P = OrigXHR.prototype, open = P.open, send = P.send;
			P.open = function (m, u) {
				this._df = [m, u];
				return open.apply(this, arguments);
			};
			P.send = function () {
				var x = this, info = x._df, start = now();
				if (info) x.addEventListener('loadend', function () {
					api(info[0], info[1], x.status, start);
				});
				return send.apply(this, arguments);
			};
		}
	}
	function wrapHistory() {
		['pushState', 'replaceState'].forEach(function (k) {
			var orig = history[k];
			history[k] = function () {
				var r = orig.apply(this, arguments);
				onNav();
				return r;
			};
		});
		w.addEventListener('popstate', onNav);
	}

	// ---- public API -----------------------------------------------------------------------
	function dnt() {
		return (cfg.respectDnt || wsc.d) && (nav.globalPrivacyControl === true || nav.doNotTrack === '1' || w.doNotTrack === '1');
	}
	// consent: called by optIn() (consent given), not by init()
	function start(consent) {
		on = true;
		st = load();
		delete st.o;
		if (consent && consentMode()) st.c = 1; // consent given: from now on the entry may exist
		touch();
		save();
		if (cfg.autocapture) pageView();
	}
	function stop() {
		on = false;
		queue = [];
		userId = null;
		st = {};
	}
	function optOut() {
		stop();
		if (consentMode()) forget();
		else {
			st.o = 1;
			save(1); // an opt-out is kept at once (ready() removes it again in consent mode)
		}
	}
	// The workspace's settings arrived (a: the JSON answer, or null: none to add).
	function ready(a) {
		if (!held) return;
		held = false;
		if (a) wsc = { c: a.consent_required === true, d: a.honor_dnt === true };
		if (wantOut) return optOut();
		if (dnt()) return stop();
		if (wantIn) {
			if (!on) start(1);
			else if (consentMode()) st.c = 1;
		} else if (consentMode() && !st.c) {
			stop();
			return forget(); // a workspace that requires consent: no entry without it
		}
		if (on) {
			save();
			if (queue.length) schedule(wantFlush || queue.length >= MAX_BATCH / 2 ? 0 : cfg.interval);
		}
	}
	var tries = 0;
	function getConfig() {
		var x = new OrigXHR();
		x.open('GET', cfg.origin + '/v1/config?key=' + encodeURIComponent(cfg.key));
		x.onloadend = safe(function () {
			var s = x.status, a = null;
			if (s === 0 || s === 429 || s >= 500) // not known yet: ask again, meanwhile in memory only
				return setTimeout(getConfig, Math.min(60000, 1000 * Math.pow(2, tries++)));
			try {
				if (s === 200) a = JSON.parse(x.responseText);
			} catch (e) {}
			ready(a); // another answer (an older server, an unknown key): the script's own settings
		});
		x.send();
	}
	var api_ = {
		version: VERSION,
		init: function (key, o) {
			if (cfg || !key) return;
			o = o || {};
			var host = o.host || loc.origin, u;
			try {
				u = new URL('/v1/batch', host);
			} catch (e) {
				return;
			}
			if (u.protocol !== 'https:' && !/^(localhost|127\.0\.0\.1|\[::1\])$/.test(u.hostname)) {
				if (w.console) console.warn('DropFix: ingest needs https');
				return;
			}
			cfg = {
				key: String(key),
				url: u.href,
				origin: u.origin,
				interval: o.flushInterval > 0 ? o.flushInterval : 5000,
				consent: !!o.consent,
				respectDnt: !!o.respectDnt,
				autocapture: o.autocapture !== false,
				allowQuery: o.allowQuery || [],
				apiOrigins: o.apiOrigins || [],
			};
			if (cfg.autocapture) {
				d.addEventListener('click', onClick, true);
				d.addEventListener('submit', onSubmit, true);
				wrapHistory();
				wrapNetwork();
			}
			w.addEventListener('pagehide', beacon);
			d.addEventListener('visibilitychange', function () {
				if (d.visibilityState === 'hidden') beacon();
			});
			w.addEventListener('online', function () {
				schedule(0);
			});
			getConfig();
			var s = load();
			// what the script itself knows already can only keep it off; until the workspace's
			// settings arrive (ready()), events are kept in memory only
			if (dnt() || s.o || (cfg.consent && !s.c)) return; // opted out earlier, or consent mode: off until optIn()
			start();
		},
		identify: function (id, traits) {
			if (!on || id == null || id === '') return;
			id = clean(id, 128);
			var t = {}, fp = id;
			traits = traits || {};
			for (var k in traits) {
				if (!Object.prototype.hasOwnProperty.call(traits, k)) continue;
				var v = traits[k];
				// Known traits are sent as given (the founder means to send them); others sanitised.
				if (/^(name|email|plan|mrr|signup_date|trial_ends|dropfix_hash|dropfix_signed_at)$/.test(k))
					t[k] = typeof v === 'number' ? v : String(v).slice(0, MAX_STR);
				else t[clean(k, 64)] = props(v, 1);
				if (!/^dropfix_/.test(k)) fp += '\n' + k + '=' + JSON.stringify(t[k]);
			}
			userId = id;
			var h = 0;
			for (var i = 0; i < fp.length; i++) h = (h * 31 + fp.charCodeAt(i)) | 0;
			h = h.toString(36);
			if (st.i === h) return; // same user and traits as last time: nothing to send
			touch();
			emit('identify', null, null, t);
			st.i = h;
			save();
		},
		track: function (name, properties) {
			if (!on || !name) return;
			event('track', clean(name, 128), props(properties || {}, 0) || {});
		},
		page: function () {
			if (on) pageView();
		},
		flush: function () {
			wantFlush = held; // asked before the workspace's settings arrived: sent once they do
			if (on) schedule(0);
		},
		reset: function () {
			if (!on) return;
			userId = null;
			st = st.c ? { c: 1 } : {}; // a logout does not withdraw consent
			touch();
		},
		optOut: function () {
			if (!cfg) return;
			wantIn = false;
			wantOut = held; // applied again once the workspace's settings are known
			optOut();
		},
		optIn: function () {
			if (!cfg || dnt()) return;
			wantOut = false;
			if (held) {
				wantIn = true; // consent given; stored once the workspace's settings are known
				if (!on) start();
				return;
			}
			if (!on) start(1);
		},
	};
	for (var m in api_) if (typeof api_[m] === 'function') api_[m] = safe(api_[m]);
	w.DropFix = api_;

	// Script-tag install: <script src=".../sdk/dropfix.js" data-key="pk_..." defer>
	var me = d.currentScript;
	if (me && me.getAttribute('data-key')) {
		var a = function (n) {
			return me.getAttribute('data-' + n);
		};
		var host;
		try {
			host = a('host') || new URL(me.src).origin;
		} catch (e) {}
		api_.init(a('key'), {
			host: host,
			consent: a('consent') === 'true',
			respectDnt: a('respect-dnt') === 'true',
			flushInterval: +a('flush-interval') || 0,
			autocapture: a('autocapture') !== 'false',
			allowQuery: (a('allow-query') || '').split(',').filter(Boolean),
		});
	}
})(typeof window !== 'undefined' ? window : this);

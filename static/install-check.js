// The install page's live check (/w/:ws/install, src/web/install_page.c): polls the
// workspace's install status (/api/v1/w/:ws/install/status, same origin, the session cookie)
// every few seconds and turns "Waiting for your first event" into "Receiving events" when
// events arrive, without a reload. Text only (textContent). Without JavaScript the page
// shows the status at render time and a "check again" link.
(function () {
	'use strict';
	var box = document.getElementById('install-check');
	if (!box || !window.fetch) return;
	var url = box.getAttribute('data-status-url');
	var EVERY_MS = 3000, MAX_MS = 30 * 60 * 1000, started = Date.now(), last = null;
	function when(iso) {
		var d = new Date(iso);
		return isNaN(d.getTime()) ? '' : d.toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
	}
	function say(text) {
		var p = document.createElement('p');
		p.textContent = text;
		box.textContent = '';
		box.appendChild(p);
	}
	function poll() {
		fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' }, cache: 'no-store' })
			.then(function (r) {
				if (!r.ok) throw new Error('status ' + r.status);
				return r.json();
			})
			.then(function (s) {
				if (s && s.events > 0 && s.last_event_at !== last) {
					last = s.last_event_at;
					say('Receiving events: the latest was received at ' + when(s.last_event_at) + '.');
				}
			})
			.catch(function () { /* a failed check: the next one tries again */ })
			.then(function () {
				// a page left open stops asking after a while (reload to resume)
				if (Date.now() - started < MAX_MS) setTimeout(poll, EVERY_MS);
			});
	}
	setTimeout(poll, EVERY_MS);
})();

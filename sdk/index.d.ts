// TypeScript declarations for the DropFix browser SDK (@dropfix/browser).

export interface DropFixOptions {
	/** Origin of the DropFix server, e.g. "https://dropfix.example.com". Must be https
	 * (http only for localhost, 127.0.0.1 and [::1]). Default: the page's own origin. */
	host?: string;
	/** Consent mode: nothing is stored in the browser and nothing is sent until optIn().
	 * The workspace's own setting (read from the server at init) applies anyway; this
	 * option can only add to it. */
	consent?: boolean;
	/** Honour Do-Not-Track and Global Privacy Control: with either signal on, the SDK stores
	 * and sends nothing. The workspace's own setting applies anyway; this option can only
	 * add to it. */
	respectDnt?: boolean;
	/** Milliseconds between batch flushes (default 5000). */
	flushInterval?: number;
	/** Page views, clicks, form submits, API calls and rage clicks (default true). */
	autocapture?: boolean;
	/** Query parameter names kept on page paths (all others are stripped). */
	allowQuery?: string[];
	/** Extra origins (besides the page's own) whose fetch/XHR calls count as the app's API. */
	apiOrigins?: string[];
}

/** Known traits (PRODUCT §2); other keys are sanitised like event properties. */
export interface DropFixTraits {
	name?: string;
	email?: string;
	/** plan slug */
	plan?: string;
	/** whole currency units per month */
	mrr?: number;
	/** YYYY-MM-DD */
	signup_date?: string;
	/** YYYY-MM-DD */
	trial_ends?: string;
	/** signed identify: lowercase hex HMAC-SHA256 computed by your server */
	dropfix_hash?: string;
	/** signed identify: Unix seconds */
	dropfix_signed_at?: number | string;
	[key: string]: unknown;
}

export type DropFixValue = string | number | boolean | null | DropFixValue[] | { [key: string]: DropFixValue };

export interface DropFix {
	readonly version: string;
	/** Starts the SDK once (later calls are ignored). The script tag calls it from data-key. */
	init(publicKey: string, options?: DropFixOptions): void;
	/** Your stable database id for the user (never an e-mail). Idempotent: the same id and
	 * traits are sent once; the anonymous id is linked to the user. */
	identify(userId: string | number, traits?: DropFixTraits): void;
	/** A named event; properties are sanitised and capped (32 keys, 3 nested levels, 256 chars). */
	track(name: string, properties?: Record<string, DropFixValue>): void;
	/** A page view of the current location (autocapture already sends them). */
	page(): void;
	/** Sends the queued events now instead of at the next flush. */
	flush(): void;
	/** Logout: forgets the user and starts a new anonymous id and session. */
	reset(): void;
	/** Stops all capture and sending, drops the queue, and remembers the choice. */
	optOut(): void;
	/** Undoes optOut(); in consent mode, gives consent. */
	optIn(): void;
}

declare const DropFix: DropFix;
export default DropFix;

declare global {
	interface Window {
		DropFix: DropFix;
	}
}

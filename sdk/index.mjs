// npm entry (ES module): loads the SDK for its side effect and hands back window.DropFix.
// In a non-browser environment (server-side rendering) the default export is undefined.
import './dist/dropfix.js';

const DropFix = typeof window !== 'undefined' ? window.DropFix : undefined;
export default DropFix;

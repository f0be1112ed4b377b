// npm entry (CommonJS): loads the SDK for its side effect and exports window.DropFix
// (undefined outside a browser).
require('./dist/dropfix.js');
module.exports = typeof window !== 'undefined' ? window.DropFix : undefined;

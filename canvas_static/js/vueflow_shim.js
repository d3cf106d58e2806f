// vue-flow-core 1.48.2 reads an undeclared global `production` on every mount
// (upstream bug bcakmakoglu/vue-flow#2167). Declare it before the library loads;
// a file, not an inline script, because the CSP forbids inline scripts.
window.production = "production";

// run.mjs — runs the SDK suites named on the command line (default: all) in
// one Node process; exit status 1 when any case failed. Each suite is
// imported on its own, so a package that fails to load fails only its suite.
import * as h from './harness.mjs';

const suites = process.argv.slice(2).length ? process.argv.slice(2) : ['openai', 'anthropic', 'ollama'];
if (!h.URL_BASE || !h.KEY) {
  console.log('not ok clients_env: LLMUX_URL and LLMUX_KEY must be set');
  process.exit(1);
}
let broken = 0;
for (const s of suites) {
  try {
    await import(`./${s}.mjs`);
  } catch (e) {
    broken++;
    console.log(`not ok ${s}_suite: ${String(e && e.stack || e).split('\n')[0]}`);
  }
}
process.exit(h.failed || broken ? 1 : 0);

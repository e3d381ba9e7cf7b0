// Reads MP3 files with @contentauth/c2pa-wasm (c2pa-rs) and prints, for
// each, one JSON line: the active manifest and the validation status, or
// the reader's error. Usage: node check.mjs FILE...
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { initSync, WasmReader } from '@contentauth/c2pa-wasm';

const require = createRequire(import.meta.url);
initSync({ module: readFileSync(require.resolve('@contentauth/c2pa-wasm/c2pa.wasm')) });

for (const file of process.argv.slice(2)) {
  const out = { file };
  try {
    const reader = await WasmReader.fromBytes('audio/mpeg', readFileSync(file));
    const store = JSON.parse(reader.json());
    out.active_manifest = store.active_manifest;
    out.manifest = store.manifests?.[store.active_manifest];
    out.validation_state = store.validation_state;
    out.validation_results = store.validation_results;
    out.validation_status = store.validation_status ?? [];
  } catch (e) {
    out.error = String(e);
  }
  console.log(JSON.stringify(out));
}

// Parses podcast feeds with podcast-partytime, the Podcast Index's parser,
// and prints, for each file, one JSON line: the feed as the parser read it,
// or null when it refuses the feed. Usage: node feed-check.mjs FILE...
import { readFileSync } from 'node:fs';
import partytime from 'podcast-partytime';

for (const file of process.argv.slice(2)) {
  let out;
  try {
    out = { file, feed: partytime.parseFeed(readFileSync(file, 'utf8'), { allowMissingGuid: false }) };
  } catch (e) {
    out = { file, error: String(e) };
  }
  console.log(JSON.stringify(out));
}

/** The golden histories (tests/histories, recorded by `npm run histories:record`), in file order, as proto3 JSON. */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { workflowTypeOf, type JsonHistory } from '#audit/timeline.js';

const DIR = fileURLToPath(new URL('../histories', import.meta.url));

export interface Golden {
  file: string;
  workflowType: string;
  json: JsonHistory;
}

export function loadGoldens(): Golden[] {
  return readdirSync(DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => {
      const json = JSON.parse(readFileSync(path.join(DIR, file), 'utf8')) as JsonHistory;
      return { file, workflowType: workflowTypeOf(json), json };
    });
}

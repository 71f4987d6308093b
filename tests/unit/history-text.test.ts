/**
 * Two reads of one history give the same text: the server sends proto map fields (a payload's
 * metadata, search attributes) in Go's random map order, and the archive hashes the text.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { historyFromJSON, historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { describe, expect, it } from 'vitest';
import { historyText } from '#audit/source.js';

const golden = readFileSync(fileURLToPath(new URL('../histories/alert-force-release.json', import.meta.url)), 'utf8');

describe('history text', () => {
  it('is the same whatever order the server sent a map’s keys in', () => {
    // The patch marker's search attribute carries a payload whose metadata has two keys: send them the other way round.
    const pair = /"(encoding|type)": ("[^"]+"),(\s*)"(encoding|type)": ("[^"]+")/g;
    expect(golden).toMatch(pair);
    const swapped = golden.replace(pair, '"$4": $5,$3"$1": $2');
    expect(swapped).not.toBe(golden);
    const [one, other] = [golden, swapped].map((text) => historyFromJSON(JSON.parse(text)));
    // As the SDK prints them, the two reads differ; as the audit keeps them, they do not.
    expect(historyToJSON(one!)).not.toBe(historyToJSON(other!));
    expect(historyText(one!)).toBe(historyText(other!));
    expect(JSON.parse(historyText(one!))).toEqual(JSON.parse(historyToJSON(one!)));
  });
});

/**
 * The OpenAPI document as a product: openapi.json is what the API serves and scripts/api-client/schema.ts
 * its types (else `npm run openapi`), and each operation carries what a client generator and a reader
 * need. `npm run lint` adds Redocly's recommended rules.
 */
import { describe, expect, it } from 'vitest';
import { documentText, openApiFiles, servedDocument } from '#scripts/openapi.js';

interface Operation {
  operationId?: string;
  summary?: string;
  tags?: string[];
  parameters?: { example?: unknown }[];
  requestBody?: { content: Record<string, { example?: unknown }> };
  responses: Record<string, { content?: Record<string, { schema?: { $ref?: string }; example?: unknown }> }>;
}

describe('openapi.json', async () => {
  const files = await openApiFiles();
  const document = JSON.parse(files[0]!.expected) as {
    servers?: { url: string }[];
    paths: Record<string, Record<string, Operation>>;
  };
  const operations = Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, operation]) => ({ name: `${method.toUpperCase()} ${path}`, operation })),
  );

  it('is committed as the API serves it, with the client types made from it (else `npm run openapi`)', () => {
    for (const file of files) expect(file.committed, file.path).toBe(file.expected);
  });

  it('documents the JSON API only: not the console pages, not the bank simulator', async () => {
    expect(Object.keys(document.paths).filter((path) => !/^\/(v1\/|healthz$|readyz$)/.test(path))).toEqual([]);
    // The embedded demo serves the simulator beside the API: its document is the same all the same.
    expect(await documentText(await servedDocument({ FANZHA_BANK_SIMULATOR: '1' }))).toBe(files[0]!.expected);
    expect(operations.length).toBeGreaterThanOrEqual(40);
    expect(document.servers?.length).toBeGreaterThan(0);
  });

  it('gives every operation a unique readable operationId, a summary and a tag', () => {
    const ids = operations.map(({ operation }) => operation.operationId);
    for (const { name, operation } of operations) {
      expect(operation.operationId, name).toMatch(/^[a-z][A-Za-z]+$/);
      expect(operation.summary, name).toBeTruthy();
      expect(operation.tags, name).toHaveLength(1);
    }
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('answers every 4xx and 5xx as application/problem+json with the one shared Problem schema', () => {
    for (const { name, operation } of operations) {
      const problems = Object.entries(operation.responses).filter(([status]) => /^[45]/.test(status));
      // The liveness probe takes nothing and fails in no way it could answer.
      if (name !== 'GET /healthz') expect(problems.length, name).toBeGreaterThan(0);
      for (const [status, response] of problems)
        expect(response.content, `${name} ${status}`).toEqual({
          'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } },
        });
    }
  });

  it('shows an example for every operation: of its parameters, its body or its answer', () => {
    for (const { name, operation } of operations) {
      const examples = [
        ...(operation.parameters ?? []).map((parameter) => parameter.example),
        ...Object.values(operation.requestBody?.content ?? {}).map((media) => media.example),
        ...Object.entries(operation.responses)
          .filter(([status]) => status.startsWith('2'))
          .flatMap(([, response]) => Object.values(response.content ?? {}).map((media) => media.example)),
      ].filter((example) => example !== undefined);
      expect(examples.length, name).toBeGreaterThan(0);
    }
  });
});

/**
 * One Temporal dev server and one migrated template database for the whole run; each test file
 * clones its own database from the template. Everything is removed afterwards.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { LOCAL_POSTGRES_URL } from '#config/index.js';
import { openDatabase } from '#db/client.js';
import { findOrBuildTemporalCli } from '#scripts/temporal-cli.js';
import { startDevServerOnFreePort } from '#scripts/temporal-dev-server.js';

/** Test files that start processes of their own pick their ports with it. */
export { freePort } from '#scripts/temporal-dev-server.js';
import { WORKFLOWS_PATH } from '#worker/worker.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    temporalCliPath: string;
    adminDatabaseUrl: string;
    templateDatabase: string;
    workflowBundlePath: string;
  }
}

export function databaseUrl(adminUrl: string, name: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export default async function setup(project: TestProject) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fanzha-test-'));
  const cliPath = await findOrBuildTemporalCli();
  const devServer = await startDevServerOnFreePort({
    cliPath,
    dbFile: path.join(dir, 'temporal.sqlite'),
    headless: true,
    logFile: path.join(dir, 'temporal.log'),
  });

  const adminUrl = process.env.DATABASE_URL || LOCAL_POSTGRES_URL;
  const template = `fanzha_test_${process.pid}_${Date.now().toString(36)}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${template}`);
  const database = await openDatabase({ url: databaseUrl(adminUrl, template), dataDir: dir, poolSize: 1 });
  await database.migrate();
  await database.close();

  const bundle = await bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error },
  });
  const bundlePath = path.join(dir, 'workflow-bundle.js');
  writeFileSync(bundlePath, bundle.code);

  project.provide('temporalAddress', devServer.address);
  project.provide('temporalCliPath', cliPath);
  project.provide('adminDatabaseUrl', adminUrl);
  project.provide('templateDatabase', template);
  project.provide('workflowBundlePath', bundlePath);

  return async () => {
    await devServer.stop();
    const clones = await admin<
      { datname: string }[]
    >`select datname from pg_database where datname like ${`${template}%`}`;
    for (const { datname } of clones) await admin.unsafe(`drop database if exists ${datname} with (force)`);
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  };
}

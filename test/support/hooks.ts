import { contractCheck } from './http.js';
import { finishPublishedEventCheck, startPublishedEventCheck } from './published-events.js';
import { remainingTestKeys, removeTestKeys } from './redis-keys.js';
import { RUN_WIDE_PREFIXES, startTestApp, type TestApp } from './test-app.js';
import { createMigratedDatabase, dropDatabase } from './test-database.js';

/**
 * Root hooks: one migrated database and one in-process API for the whole run,
 * dropped afterwards. Suites reach them through testApp().
 */
let database: string | undefined;
let app: TestApp | undefined;

export function testApp(): TestApp {
  if (!app) throw new Error('the test app is not running (test/support/hooks.ts)');
  return app;
}

/** The name of this run's migrated database, for suites that start another app on it. */
export function testDatabase(): string {
  if (!database) throw new Error('the test database does not exist yet (test/support/hooks.ts)');
  return database;
}

before(async function () {
  this.timeout(60_000);
  startPublishedEventCheck();
  database = await createMigratedDatabase();
  app = await startTestApp(database);
});

after(async function () {
  this.timeout(60_000);
  const checked = app ? (await contractCheck()).checked : 0;
  console.log(`\n  contract: ${checked} responses checked against /openapi.json`);
  await app?.close();
  if (database) await dropDatabase(database);
  try {
    await finishPublishedEventCheck();
  } finally {
    // The run-wide prefixes are every suite's; the rest are each suite's own to remove.
    await removeTestKeys(...RUN_WIDE_PREFIXES);
    await expectNoTestKeysLeft();
  }
});

/**
 * Every suite removes the Redis keys of the prefixes it made when it ends; whatever is
 * left of this run's prefixes in the shared Redis is a suite that did not. Removed here
 * all the same, then named, so the run fails and says which.
 */
async function expectNoTestKeysLeft(): Promise<void> {
  const left = await remainingTestKeys();
  if (left.size === 0) return;
  await removeTestKeys(...left.keys());
  const named = [...left].map(([prefix, count]) => `{${prefix}}: ${count}`).join(', ');
  throw new Error(`suites left keys in the shared Redis under this run's prefixes (removed now): ${named}`);
}

/** The release phase: apply the schema once, before any web or worker process starts. */
import { readConfig } from './config.js';
import { openDatabase } from './db.js';
import { migrate } from './migrate.js';

const config = readConfig();
const db = await openDatabase(config.databaseUrl);
try {
  await migrate(db);
  console.log(`release: schema ready on ${db.kind}`);
} finally {
  await db.close();
}

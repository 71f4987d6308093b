/** `npm run temporal:provision`: prints the path of a usable Temporal CLI, building it once if needed. */
import { findOrBuildTemporalCli, TemporalCliError } from './temporal-cli.js';

try {
  console.log(await findOrBuildTemporalCli());
} catch (error) {
  console.error(error instanceof TemporalCliError ? error.message : error);
  process.exit(1);
}

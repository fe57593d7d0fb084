// The peers' command lines: node's parseArgs with a --help of their own; a bad flag prints the usage
// and exits 2, --help prints it and exits 0.
import { parseArgs } from 'node:util';

export function parseFlags(options, usage) {
  let values;
  try {
    ({ values } = parseArgs({ options: { ...options, help: { type: 'boolean', short: 'h', default: false } } }));
  } catch (err) {
    console.error(`${err.message}\n${usage}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  return values;
}

// Property tests of checkDocument and of the CLI commands in-process (fixed seed; `npm run fuzz` runs them long).
import { propertyTests } from '../fuzz/harness.ts';
import { checkGroup, cliGroup } from '../fuzz/props/check.ts';

propertyTests('check', () => checkGroup());
propertyTests('cli', () => cliGroup());

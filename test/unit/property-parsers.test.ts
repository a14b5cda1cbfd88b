// Property tests of every parser, sniffer and detector in src/formats (fixed seed; `npm run fuzz` runs them long).
import { propertyTests } from '../fuzz/harness.ts';
import { parserGroup } from '../fuzz/props/parsers.ts';

propertyTests('parsers', () => parserGroup());

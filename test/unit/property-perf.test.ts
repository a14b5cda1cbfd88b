// Every parser, sniffer, detector and checkDocument stays linear on long runs of one unit (blank lines, CRs,
// brackets, quotes ...): 16384 units each, 1 s at most per call.
import { propertyTests } from '../fuzz/harness.ts';
import { perfGroup } from '../fuzz/props/perf.ts';

propertyTests('perf', () => perfGroup(), { timeout: 600_000 });

// Property tests of value decoding (fixed seed; the long run is `npm run fuzz`).
import { propertyTests } from '../fuzz/harness.ts';
import { valueGroup } from '../fuzz/props/value.ts';

propertyTests('value', async () => valueGroup());

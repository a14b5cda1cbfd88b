// Property tests of the encoding forms (fixed seed; the long run is `npm run fuzz`).
import { propertyTests } from '../fuzz/harness.ts';
import { encodingGroup } from '../fuzz/props/encoding.ts';

propertyTests('encoding', async () => encodingGroup());

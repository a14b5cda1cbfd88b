// Property tests of the VM model, the migration diff and the baseline (fixed seed; `npm run fuzz` runs them long).
import { propertyTests } from '../fuzz/harness.ts';
import { modelGroup } from '../fuzz/props/model.ts';

propertyTests('model', () => modelGroup());

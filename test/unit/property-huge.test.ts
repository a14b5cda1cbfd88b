// One 9 Mi-character token in a plausible place of every format: findings with bounded messages, no exception.
import { propertyTests } from '../fuzz/harness.ts';
import { hugeGroup } from '../fuzz/props/huge.ts';

propertyTests('huge', () => hugeGroup(), { timeout: 600_000 });

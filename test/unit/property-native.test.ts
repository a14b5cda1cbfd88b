// Round trips and line locality of the native formats (.idtrace, .iddump), fixed seed.
import { propertyTests } from '../fuzz/harness.ts';
import { nativeGroup } from '../fuzz/props/native.ts';

propertyTests('native', () => nativeGroup());

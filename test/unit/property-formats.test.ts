// Format-specific properties: the JSON reader against JSON.parse, Firecracker round trips, parser helpers.
import { propertyTests } from '../fuzz/harness.ts';
import { formatsGroup } from '../fuzz/props/formats.ts';

propertyTests('formats', () => formatsGroup());

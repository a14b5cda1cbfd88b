// Every property group, for the fuzz runner and the saved-failure replays.
import { encodingGroup } from './props/encoding.ts';
import { valueGroup } from './props/value.ts';
import { parserGroup } from './props/parsers.ts';
import { nativeGroup } from './props/native.ts';
import { modelGroup } from './props/model.ts';
import { checkGroup, cliGroup } from './props/check.ts';
import { formatsGroup } from './props/formats.ts';
import { perfGroup } from './props/perf.ts';
import { hugeGroup } from './props/huge.ts';
import type { PropertyDef, PropertyGroup } from './props/types.ts';

export const GROUP_LOADERS: Record<string, () => Promise<PropertyGroup>> = {
  encoding: async () => encodingGroup(),
  value: async () => valueGroup(),
  parsers: () => parserGroup(),
  native: () => nativeGroup(),
  formats: () => formatsGroup(),
  model: () => modelGroup(),
  check: () => checkGroup(),
  cli: () => cliGroup(),
  perf: () => perfGroup(),
  huge: () => hugeGroup(),
};

export async function loadAllGroups(only?: string[]): Promise<PropertyGroup[]> {
  const out: PropertyGroup[] = [];
  for (const [name, load] of Object.entries(GROUP_LOADERS)) {
    if (only && !only.includes(name)) continue;
    try {
      out.push(await load());
    } catch (err) {
      out.push({ group: name, properties: [], missing: [`group ${name} does not load: ${(err as Error).message.split('\n')[0]}`] });
    }
  }
  return out;
}

export async function findProperty(name: string): Promise<PropertyDef<any> | undefined> {
  for (const g of await loadAllGroups()) {
    const p = g.properties.find((x) => x.name === name);
    if (p) return p;
  }
  return undefined;
}

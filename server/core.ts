// The server's one door into the core (src/). Everything the LSP features need from src/ is re-exported
// here, so the features stay thin and the layering (server → src, never back) is visible in one place.
// Importing detect.ts registers the real-world formats (ftrace, Firecracker JSON, ...) with check.ts.
import '../src/formats/detect.ts';

export const CORE_KIND = 'src/check.ts';

export { checkDocument, detectDocumentFormat, recheckDocument, resumableFormat, type CheckOptions, type FileReport, type HostInfo } from '../src/check.ts';
export type { LineChange } from '../src/formats/types.ts';
export { checkStreamed, IdtraceTextCheck, openBlockFile, type BlockFile } from '../src/stream.ts';
export { IdtraceStream } from '../src/formats/idtrace.ts';
export type { ReplayResult, VmSnapshot, RegisterState } from '../src/model/vm.ts';
export { allForms, genericName, parseRegisterToken, registerName, type TokenResult } from '../src/encoding/forms.ts';
export { decodeValue, fieldValue, type DecodedField, type DecodedValue } from '../src/encoding/value.ts';
export { describePolicy } from '../src/model/kvm.ts';

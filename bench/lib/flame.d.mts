// Types for flame.mjs, so that TypeScript tests (strict) can import it.

export interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber?: number;
  scriptId?: string | number;
}

export interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
  hitCount?: number;
}

/** A V8 `.cpuprofile` (what `node --cpu-prof` writes). Times in microseconds. */
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export type CodeKind = 'wharf' | 'node' | 'native' | 'other';

export interface SelfTime {
  name: string;
  /** file:line (1-based) for people, or "native" */
  where: string;
  url: string;
  /** 1-based; 0 when V8 gave none */
  line: number;
  kind: CodeKind;
  ms: number;
  /** of the busy (non-idle) time */
  percent: number;
}

export interface FlameOptions {
  title?: string;
  /** a second line under the title (the first gives busy and idle time) */
  note?: string;
  /** above this many bytes, narrow frames are dropped (default 400 000) */
  maxBytes?: number;
  /** the width fraction under which frames are dropped then (default 0.001) */
  minFraction?: number;
}

export function flameSvg(profile: CpuProfile, options?: FlameOptions): string;
export function topSelf(profile: CpuProfile, n?: number): SelfTime[];
export function sliceProfile(profile: CpuProfile, fromUs: number, toUs: number): CpuProfile;
export function sampleDurations(profile: CpuProfile): { durations: number[]; stamps: number[] };
export function kindOf(callFrame: CallFrame): CodeKind;
export function shortUrl(url: string): string;
export function escapeXml(s: string): string;

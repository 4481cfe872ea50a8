/** Types of bench/hostile.js, for test/source/hostile.e2e.test.ts. */
export interface HostileServer {
  baseUrl: string;
  username: string;
  password: string;
  requests: { host_list: number; detection: number; knowledge_base: number };
  /** Config values the case needs (a short timeout, say), laid over hostileConfig's. */
  config: Record<string, unknown>;
  close(): Promise<void>;
}
export const CASES: Record<string, unknown>;
export const FIRST_ID: number;
export const HOSTS: number;
export const HUGE_FIELD_CHARS: number;
export const PASSWORD: string;
export const ids: number[];
export function hostileConfig(server: HostileServer): Record<string, unknown>;
export function startHostileServer(caseName?: string): Promise<HostileServer>;

/**
 * `drove check --scenario FILE`, for an app without a test suite: a JSON file (YAML when it is
 * named `.yaml` or `.yml`) of requests and what each must answer, run in order with a cookie jar
 * and values captured from earlier answers.
 *
 * @example
 * ```json
 * { "requests": [
 *   { "method": "POST", "path": "/login", "json": { "user": "ann" },
 *     "expect": { "status": 200 }, "capture": { "id": "json.id" } },
 *   { "path": "/me", "expect": { "status": 200, "json": { "user": "ann" } } },
 *   { "path": "/items/{{id}}", "expect": { "status": 200 } }
 * ] }
 * ```
 * @module
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { InvalidOptionError } from '../errors.js';

const Step = z.strictObject({
  name: z.string().optional(),
  method: z
    .string()
    .regex(/^[A-Za-z]+$/)
    .default('GET'),
  path: z.string().startsWith('/'),
  headers: z.record(z.string(), z.string()).optional(),
  /** Sent as JSON, with `content-type: application/json`. */
  json: z.unknown().optional(),
  /** Sent as is. */
  body: z.string().optional(),
  expect: z
    .strictObject({
      status: z.union([z.number().int(), z.array(z.number().int()).nonempty()]).optional(),
      /** The JSON answer contains this (objects: these keys, recursively). */
      json: z.unknown().optional(),
      bodyIncludes: z.string().optional(),
      headers: z.record(z.string(), z.string()).optional(),
    })
    .optional(),
  /** name: `json.a.b`, `header.location`, `body` or `status`; used later as `{{name}}`. */
  capture: z
    .record(z.string(), z.string().regex(/^(json(\.[^.]+)*|header\.[^.]+|body|status)$/))
    .optional(),
});

const ScenarioSchema = z.strictObject({
  /** Run the requests this many times in a row (more requests, more restarts). Default 1. */
  repeat: z.number().int().min(1).max(1000).default(1),
  requests: z.array(Step).nonempty(),
});

/** A parsed scenario. */
export type Scenario = z.infer<typeof ScenarioSchema>;
export type ScenarioStep = z.infer<typeof Step>;

/** Parse and check a scenario's text; `source` names it in errors (and is YAML if so named). */
export function parseScenario(text: string, source: string): Scenario {
  const yaml = /\.ya?ml$/i.test(source);
  let data: unknown;
  try {
    data = yaml ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw new InvalidOptionError({
      option: '--scenario',
      reason: `${source} is not ${yaml ? 'YAML' : 'JSON'}: ${(err as Error).message}`,
    });
  }
  const result = ScenarioSchema.safeParse(data);
  if (!result.success) {
    const issues = result.error.issues
      .map((i) => `${i.path.length ? i.path.join('.') : '(top)'}: ${i.message}`)
      .join('; ');
    throw new InvalidOptionError({ option: '--scenario', reason: `${source}: ${issues}` });
  }
  return result.data;
}

/** Read and parse a scenario file. */
export function readScenario(file: string): Scenario {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new InvalidOptionError({
      option: '--scenario',
      reason: `cannot read ${file}: ${(err as Error).message}`,
    });
  }
  return parseScenario(text, file);
}

/** How a scenario run ended. */
export interface ScenarioOutcome {
  passed: boolean;
  /** The step that failed (0-based over the repeated requests) and why. */
  failed?: { index: number; name: string; reason: string };
  /** One line per request. */
  lines: string[];
}

/** Whether `actual` contains `expected`: the same primitives, and every expected key, recursively. */
export function contains(actual: unknown, expected: unknown): boolean {
  if (expected === null || typeof expected !== 'object') return Object.is(actual, expected);
  if (Array.isArray(expected)) {
    return (
      Array.isArray(actual) &&
      actual.length === expected.length &&
      expected.every((e, i) => contains(actual[i], e))
    );
  }
  if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return false;
  return Object.entries(expected).every(([k, v]) =>
    contains((actual as Record<string, unknown>)[k], v),
  );
}

/** `{{name}}` replaced by captured values (an unknown name is an error: a capture failed). */
export function interpolate(text: string, vars: Map<string, string>): string {
  return text.replace(/\{\{\s*([\w.-]+)\s*\}\}/g, (_, name: string) => {
    const value = vars.get(name);
    if (value === undefined) throw new Error(`{{${name}}} was never captured`);
    return value;
  });
}

function interpolateJson(value: unknown, vars: Map<string, string>): unknown {
  if (typeof value === 'string') return interpolate(value, vars);
  if (Array.isArray(value)) return value.map((v) => interpolateJson(v, vars));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateJson(v, vars)]));
  }
  return value;
}

/** A client's cookies: what Set-Cookie gave, sent back on every request. */
export class CookieJar {
  readonly #cookies = new Map<string, string>();

  take(setCookies: string[]): void {
    for (const line of setCookies) {
      const [pair = '', ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attributes.some((a) => {
        const [k = '', v = ''] = a.split('=').map((s) => s.trim());
        if (k.toLowerCase() === 'max-age') return Number(v) <= 0;
        if (k.toLowerCase() === 'expires') return Date.parse(v) <= Date.now();
        return false;
      });
      if (expired || value === '') this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }

  header(): string | undefined {
    if (this.#cookies.size === 0) return undefined;
    return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

function captured(
  how: string,
  answer: { status: number; headers: Headers; text: string; json: unknown },
): string | undefined {
  if (how === 'status') return String(answer.status);
  if (how === 'body') return answer.text;
  if (how.startsWith('header.'))
    return answer.headers.get(how.slice('header.'.length)) ?? undefined;
  let value: unknown = answer.json;
  for (const key of how.split('.').slice(1)) {
    value =
      value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
  }
  if (value === undefined || value === null) return undefined;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** What is wrong with an answer, or undefined when it meets the step's expectations. */
function mismatch(
  step: ScenarioStep,
  answer: { status: number; headers: Headers; text: string; json: unknown },
): string | undefined {
  const expect = step.expect;
  if (!expect) return undefined;
  if (expect.status !== undefined) {
    const wanted = Array.isArray(expect.status) ? expect.status : [expect.status];
    if (!wanted.includes(answer.status))
      return `status ${answer.status}, expected ${wanted.join(' or ')}`;
  }
  if (expect.json !== undefined && !contains(answer.json, expect.json)) {
    return `JSON ${answer.text.slice(0, 200)} does not contain ${JSON.stringify(expect.json)}`;
  }
  if (expect.bodyIncludes !== undefined && !answer.text.includes(expect.bodyIncludes)) {
    return `body does not include ${JSON.stringify(expect.bodyIncludes)}`;
  }
  for (const [name, value] of Object.entries(expect.headers ?? {})) {
    const got = answer.headers.get(name);
    if (got !== value)
      return `header ${name}: ${JSON.stringify(got)}, expected ${JSON.stringify(value)}`;
  }
  return undefined;
}

/** Run a scenario against `baseUrl`, one request at a time, stopping at the first failure. */
export async function runScenario(scenario: Scenario, baseUrl: string): Promise<ScenarioOutcome> {
  const jar = new CookieJar();
  const vars = new Map<string, string>();
  const lines: string[] = [];
  const steps = Array.from({ length: scenario.repeat }, () => scenario.requests).flat();
  for (const [index, step] of steps.entries()) {
    const name = step.name ?? `${step.method} ${step.path}`;
    const fail = (reason: string): ScenarioOutcome => {
      lines.push(`not ok ${index + 1} ${name}: ${reason}`);
      return { passed: false, failed: { index, name, reason }, lines };
    };
    let answer: { status: number; headers: Headers; text: string; json: unknown };
    try {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(step.headers ?? {})) headers[k] = interpolate(v, vars);
      const cookie = jar.header();
      if (cookie !== undefined) headers.cookie = cookie;
      let body: string | undefined;
      if (step.json !== undefined) {
        body = JSON.stringify(interpolateJson(step.json, vars));
        headers['content-type'] ??= 'application/json';
      } else if (step.body !== undefined) body = interpolate(step.body, vars);
      const res = await fetch(new URL(interpolate(step.path, vars), baseUrl), {
        method: step.method.toUpperCase(),
        headers,
        ...(body !== undefined ? { body } : {}),
        redirect: 'manual',
      });
      jar.take(res.headers.getSetCookie());
      const text = await res.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      answer = { status: res.status, headers: res.headers, text, json };
    } catch (err) {
      return fail((err as Error).message);
    }
    const wrong = mismatch(step, answer);
    if (wrong) return fail(wrong);
    for (const [key, how] of Object.entries(step.capture ?? {})) {
      const value = captured(how, answer);
      if (value === undefined) return fail(`nothing to capture as ${key} from ${how}`);
      vars.set(key, value);
    }
    lines.push(`ok ${index + 1} ${name} (${answer.status})`);
  }
  return { passed: true, lines };
}

/**
 * What passes alone but fails in the herd: the requests of the run against one plain instance and
 * of the run against the adversarial herd, side by side, and the request where they part.
 * @module
 */
import type { RequestRecord, RestartRecord } from './herd.js';

/** The kinds of finding, as docs/check.md ("Dynamic: drove check -- TEST_COMMAND") explains them. */
export type FindingKind =
  /** The client's previous request went to another instance, which kept what this one lacked. */
  | 'other-instance'
  /** The instance that served the client's previous request was restarted in between. */
  | 'after-restart'
  /** The test failed in the herd, but every request got the same answer as alone. */
  | 'unattributed';

/** One request as a finding shows it. */
export interface RequestView {
  seq: number;
  method: string;
  path: string;
  status: number | undefined;
  instance: string | undefined;
}

/** One finding. */
export interface Finding {
  kind: FindingKind;
  /** The request that got another answer in the herd than alone. */
  request?: RequestView;
  /** The status the same request got alone. */
  aloneStatus?: number | undefined;
  /** The same status but another body. */
  bodyDiffers?: boolean;
  /** The previous request of the same client (session cookie, else connection, else address). */
  previous?: RequestView;
  /** The last restart the check made before the request. */
  restartBefore?: RestartRecord;
  /** What the difference suggests. */
  hint: string;
  /** In a scenario: the step that failed and why. */
  step?: { name: string; reason: string };
}

/** Path with ids (digits, hex, uuids) replaced, so runs with other ids still line up. */
export function pathShape(path: string): string {
  const [bare = ''] = path.split('?');
  return bare
    .split('/')
    .map((seg) => (/^\d+$/.test(seg) || /^[0-9a-f-]{8,}$/i.test(seg) ? ':id' : seg))
    .join('/');
}

const view = (r: RequestRecord): RequestView => ({
  seq: r.seq,
  method: r.method,
  path: r.path,
  status: r.status,
  instance: r.instance,
});

/**
 * The first herd request whose answer differs from the same request alone: lined up by order while
 * the two runs make the same requests; a different status first, else a different body.
 */
function firstDifference(
  alone: RequestRecord[],
  herd: RequestRecord[],
): { herd: RequestRecord; alone: RequestRecord | undefined; bodyDiffers: boolean } | undefined {
  const pairs: [RequestRecord, RequestRecord][] = [];
  for (const [i, h] of herd.entries()) {
    const a = alone[i];
    if (!a || a.method !== h.method || pathShape(a.path) !== pathShape(h.path)) break;
    pairs.push([a, h]);
  }
  const status = pairs.find(([a, h]) => a.status !== h.status);
  if (status) return { herd: status[1], alone: status[0], bodyDiffers: false };
  const rest = herd.slice(pairs.length);
  // Past the point where the runs part: a request made alone too, with a status it never got alone.
  const same = (a: RequestRecord, h: RequestRecord) =>
    a.method === h.method && pathShape(a.path) === pathShape(h.path);
  const unseen = rest.find(
    (h) => alone.some((a) => same(a, h)) && !alone.some((a) => same(a, h) && a.status === h.status),
  );
  if (unseen) return { herd: unseen, alone: undefined, bodyDiffers: false };
  const body = pairs.find(([a, h]) => a.body !== h.body);
  if (body) return { herd: body[1], alone: body[0], bodyDiffers: true };
  return undefined;
}

/**
 * The latest request before `r` of the same client: by its session cookie when it has one, else
 * by connection or address (a client's requests spread over several pooled connections).
 */
export function previousOf(records: RequestRecord[], r: RequestRecord): RequestRecord | undefined {
  const earlier = records.filter((x) => x.seq < r.seq);
  const { session, connection, address } = r.client;
  if (session !== undefined) {
    const match = earlier.filter((x) => x.client.session === session).at(-1);
    if (match) return match;
  }
  return earlier
    .filter(
      (x) =>
        (connection !== undefined && x.client.connection === connection) ||
        (address !== undefined && x.client.address === address),
    )
    .at(-1);
}

const nameOf = (instance: string | undefined) => instance?.split('@')[0];

/** What a pair of answers suggests. */
export function hintFor(
  alone: number | undefined,
  herd: number | undefined,
  bodyDiffers: boolean,
): string {
  if (bodyDiffers)
    return 'same status, another answer: a cache or copy of data kept in one process went stale';
  if (herd === 401 || herd === 403)
    return 'refused where one instance let it in: a session or login kept in process memory or on local disk';
  if (herd === 404 || herd === 410)
    return 'not found where one instance had it: data kept in process memory (a Map, an array) or in a local file';
  if (alone === 429 && herd !== 429)
    return 'a limit not reached in the herd: a rate limiter or counter kept per process';
  if (herd === undefined) return 'no answer: the connection was cut (see the log)';
  if (herd >= 500)
    return 'a server error on the instance that lacked the state: see its log lines in the report';
  return 'another answer than alone: state kept in one process';
}

/** The findings of a herd run that failed where the plain run passed. */
export function findFindings(
  alone: RequestRecord[],
  herd: RequestRecord[],
  restarts: RestartRecord[],
  /** The request known to have failed (a scenario's step), by its `seq`. */
  failedSeq?: number,
): Finding[] {
  const known = herd.find((r) => r.seq === failedSeq);
  const twin = known && alone[known.seq - 1];
  const diff = known
    ? { herd: known, alone: twin, bodyDiffers: twin?.status === known.status }
    : firstDifference(alone, herd);
  if (!diff) {
    const restartBefore = restarts.at(-1);
    return [
      {
        kind: 'unattributed',
        ...(restartBefore ? { restartBefore } : {}),
        hint: 'every request got the answer it got alone; the test output below says what failed',
      },
    ];
  }
  const h = diff.herd;
  const previous = previousOf(herd, h);
  const restartBefore = restarts.filter((r) => r.afterRequest < h.seq).at(-1);
  const restartedBetween =
    previous !== undefined &&
    restarts.some(
      (r) =>
        r.afterRequest >= previous.seq &&
        r.afterRequest < h.seq &&
        r.instance === nameOf(previous.instance),
    );
  return [
    {
      kind: restartedBetween ? 'after-restart' : 'other-instance',
      request: view(h),
      aloneStatus: diff.alone?.status,
      bodyDiffers: diff.bodyDiffers,
      ...(previous ? { previous: view(previous) } : {}),
      ...(restartBefore ? { restartBefore } : {}),
      hint: hintFor(diff.alone?.status, h.status, diff.bodyDiffers),
    },
  ];
}

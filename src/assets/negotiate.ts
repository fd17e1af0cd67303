/** Request-header parsing for the static handler: Accept-Encoding and If-None-Match. */

/** A content coding the build may have precompressed, or the file itself. */
export type Coding = 'br' | 'gzip' | 'identity';

/** Server preference when the client rates codings equally: smallest first. */
const PREFERENCE: readonly Coding[] = ['br', 'gzip', 'identity'];

/**
 * Pick the coding to send from an Accept-Encoding header (RFC 9110 §12.5.3, with q-values),
 * among the ones available for this file. Identity is acceptable unless the client refuses it
 * explicitly (`identity;q=0`, or `*;q=0` without naming identity); if nothing is acceptable the
 * file is sent as-is anyway, which the RFC allows and which beats a 406 for static files.
 *
 * @example
 * ```ts
 * chooseCoding('gzip, br;q=0.5', ['br', 'gzip']); // 'gzip'
 * ```
 */
export function chooseCoding(header: string | undefined, available: readonly Coding[]): Coding {
  if (!header || available.length === 0) return 'identity';
  const q = parseAcceptEncoding(header);
  let best: Coding = 'identity';
  let bestQ = -1;
  for (const coding of PREFERENCE) {
    if (coding !== 'identity' && !available.includes(coding)) continue;
    const weight = weightOf(q, coding);
    if (weight > bestQ) {
      best = coding;
      bestQ = weight;
    }
  }
  return bestQ > 0 ? best : 'identity';
}

function weightOf(q: Map<string, number>, coding: Coding): number {
  const named = coding === 'gzip' ? (q.get('gzip') ?? q.get('x-gzip')) : q.get(coding);
  if (named !== undefined) return named;
  const star = q.get('*');
  if (star !== undefined) return star;
  // Identity is implicitly acceptable, but ranks below anything the client asked for by name.
  return coding === 'identity' ? 0.001 : 0;
}

/** Parse `gzip;q=0.8, br` into coding -> weight (lower-cased; malformed q-values count as 0). */
export function parseAcceptEncoding(header: string): Map<string, number> {
  const weights = new Map<string, number>();
  for (const part of header.split(',')) {
    const [rawName, ...params] = part.split(';');
    const name = rawName?.trim().toLowerCase();
    if (!name) continue;
    let weight = 1;
    for (const param of params) {
      const [key, value] = param.split('=');
      if (key?.trim().toLowerCase() !== 'q') continue;
      const parsed = Number(value?.trim());
      weight = /^\s*(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)\s*$/.test(value ?? '') ? parsed : 0;
    }
    if (!weights.has(name)) weights.set(name, weight);
  }
  return weights;
}

/**
 * Whether an If-None-Match header matches an entity tag, with the weak comparison GET needs
 * (RFC 9110 §13.1.2): `W/"x"` matches `"x"`, and `*` matches anything.
 *
 * @example
 * ```ts
 * ifNoneMatchHits('W/"abc", "def"', '"abc"'); // true
 * ```
 */
export function ifNoneMatchHits(header: string, etag: string): boolean {
  const bare = etag.startsWith('W/') ? etag.slice(2) : etag;
  for (const candidate of header.split(',')) {
    const tag = candidate.trim();
    if (tag === '*') return true;
    if ((tag.startsWith('W/') ? tag.slice(2) : tag) === bare) return true;
  }
  return false;
}

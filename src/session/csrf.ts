/**
 * Cross-site request forgery check for unsafe methods, from the headers browsers send
 * (Sec-Fetch-Site, then Origin). A request carrying neither comes from a non-browser client and is
 * let through: it cannot ride on a victim's cookie.
 */
import { CsrfError, type DroveError } from '../errors.js';

/** CSRF settings. */
export interface CsrfOptions {
  /** Other origins allowed to send unsafe requests, e.g. `https://admin.example.com`. */
  allowOrigins?: string[];
  /** Let `Sec-Fetch-Site: same-site` through (sibling subdomains). Default false. */
  allowSameSite?: boolean;
}

/** What the check needs to know about a request. */
export interface CsrfRequest {
  method: string;
  origin: string | undefined;
  secFetchSite: string | undefined;
  /** Host header (or X-Forwarded-Host behind a trusted proxy). */
  host: string | undefined;
  https: boolean;
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

/** The refusal for a cross-origin unsafe request, or undefined when it may proceed. */
export function checkCsrf(request: CsrfRequest, options: CsrfOptions): DroveError | undefined {
  const method = request.method.toUpperCase();
  if (SAFE.has(method)) return undefined;
  const { origin, secFetchSite } = request;
  const allowed = (o: string | undefined) =>
    o !== undefined && (options.allowOrigins?.includes(o) ?? false);
  if (secFetchSite !== undefined) {
    if (secFetchSite === 'same-origin' || secFetchSite === 'none') return undefined;
    if (secFetchSite === 'same-site' && options.allowSameSite) return undefined;
    if (allowed(origin)) return undefined;
    return new CsrfError({ method, origin: origin ?? `Sec-Fetch-Site: ${secFetchSite}` });
  }
  if (origin === undefined) return undefined;
  const own = request.host ? `${request.https ? 'https' : 'http'}://${request.host}` : undefined;
  if (origin === own || allowed(origin)) return undefined;
  return new CsrfError({ method, origin });
}

/**
 * What a user may submit. Which addresses a download may then connect to is checked by
 * drove/scratch's `publicAddressesOnly` guard, on the resolved IP at connect time and on every
 * redirect (see process-file.ts).
 */
/** The URL as submitted by a user: http(s) only, no credentials. */
export function parseSubmittedUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new UserError('That is not a URL. Enter an address starting with http:// or https://.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UserError(`Only http:// and https:// URLs can be digested, not ${url.protocol}`);
  }
  if (url.username || url.password)
    throw new UserError('URLs with a user name or password are not accepted.');
  return url;
}

/** An error whose message is meant for the user as it is. */
export class UserError extends Error {}

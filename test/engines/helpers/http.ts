/** A cookie jar of one client, and the digest example's sign-up, over plain fetch. */

export interface Answer {
  status: number;
  servedBy: string | null;
  body: string;
}

export class CookieJar {
  readonly #cookies = new Map<string, string>();

  header(): string {
    return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  /** Keep the cookies a response sets (an expired one is dropped). */
  take(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const expired = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a));
      if (expired) this.#cookies.delete(name);
      else this.#cookies.set(name, pair.slice(eq + 1).trim());
    }
  }

  async request(url: string, init: RequestInit = {}): Promise<Answer> {
    const headers = new Headers(init.headers);
    if (this.#cookies.size > 0) headers.set('cookie', this.header());
    const response = await fetch(url, {
      ...init,
      headers,
      redirect: 'manual',
      signal: AbortSignal.timeout(30_000),
    });
    this.take(response);
    return {
      status: response.status,
      servedBy: response.headers.get('x-served-by'),
      body: await response.text(),
    };
  }
}

/** Sign up a fresh user through `base` (the balancer): the jar then holds a signed-in session. */
export async function signUp(jar: CookieJar, base: string, email: string): Promise<void> {
  const answer = await jar.request(`${base}/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ email, password: 'correct horse battery' }).toString(),
  });
  if (answer.status !== 303) throw new Error(`sign-up: ${answer.status} ${answer.body}`);
}

/** A one-user HTTP client with a cookie jar of one cookie, over undici. */
import { request } from 'undici';

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  setCookie: string[];
  body: string;
  // biome-ignore lint/suspicious/noExplicitAny: test bodies are asserted field by field.
  json(): any;
}

export class Browser {
  cookie: string | undefined;
  constructor(readonly base: string) {}

  async send(method: string, path: string, headers: Record<string, string> = {}): Promise<Reply> {
    const all: Record<string, string> = { ...headers };
    if (this.cookie !== undefined && all.cookie === undefined) all.cookie = this.cookie;
    const res = await request(this.base + path, { method: method as 'GET', headers: all });
    const body = await res.body.text();
    const raw = res.headers['set-cookie'];
    const setCookie = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
    for (const line of setCookie) {
      const pair = line.split(';')[0]!;
      const cleared = /max-age=0/i.test(line) || pair.endsWith('=');
      this.cookie = cleared ? undefined : pair;
    }
    return {
      status: res.statusCode,
      headers: res.headers,
      setCookie,
      body,
      json: () => JSON.parse(body),
    };
  }

  get(path: string, headers?: Record<string, string>) {
    return this.send('GET', path, headers);
  }
  post(path: string, headers?: Record<string, string>) {
    return this.send('POST', path, headers);
  }
  /** The session id in the jar. */
  get id(): string | undefined {
    return this.cookie?.split('=')[1];
  }
}

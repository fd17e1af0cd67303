import {
  DownloadError,
  DownloadRefusedError,
  DownloadTimeoutError,
  DownloadTruncatedError,
} from 'drovejs/errors';
import { describe, expect, it } from 'vitest';
import { readConfig } from './config.js';
import { explain } from './process-file.js';

const config = readConfig({ NODE_ENV: 'production', DIGEST_DOWNLOAD_TIMEOUT_MS: '2000' });
const url = 'https://example.com/data.csv';

describe('explain()', () => {
  it('tells the user why a download failed, and retries only what another attempt may fix', () => {
    expect(
      explain(new DownloadRefusedError({ url, reason: 'address 10.0.0.1 refused' }), config),
    ).toEqual({ message: 'The download failed: address 10.0.0.1 refused', permanent: true });
    expect(explain(new DownloadError({ url, reason: 'HTTP 404' }), config)).toEqual({
      message: 'The download failed: HTTP 404',
      permanent: true,
    });
    expect(explain(new DownloadTruncatedError({ url, bytes: 10, expected: 20 }), config)).toEqual({
      message: `The download was cut off: download of "${url}" ended early after 10 bytes of 20`,
      permanent: false,
    });
    expect(explain(new DownloadTimeoutError({ url, timeoutMs: 2000 }), config)).toEqual({
      message: 'The download stalled: it did not finish within 2 s.',
      permanent: true,
    });
  });
});

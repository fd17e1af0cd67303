/** Lazy loading of optional peer dependencies, shared by the store drivers and the session's OpenTelemetry bridge. */
import { MissingPeerError } from '../errors.js';

/**
 * Load an optional peer dependency on first use. A missing package becomes
 * DROVE_ERR_MISSING_PEER naming the package to install.
 */
export async function importPeer<T>(
  pkg: string,
  feature: string,
  load: () => Promise<T>,
): Promise<T> {
  try {
    return await load();
  } catch (err) {
    const code = (err as { code?: string } | undefined)?.code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new MissingPeerError({ pkg, feature }, { cause: err });
    }
    throw err;
  }
}

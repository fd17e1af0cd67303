/** A bridge from {@link SessionEvent}s to OpenTelemetry metrics (`@opentelemetry/api`, loaded lazily). */
import type { Meter } from '@opentelemetry/api';
import { importPeer } from '../internal/peer.js';
import type { SessionEvent } from './types.js';

/**
 * An `onEvent` hook that records session metrics through OpenTelemetry's API:
 * - `drove.session.store.duration` (histogram, ms; attributes `operation`, `ok`)
 * - `drove.session.loads` (counter; `outcome`: none, rejected, hit, miss, expired, invalid)
 * - `drove.session.conflicts`, `drove.session.touches`, `drove.session.destroyed` (counters)
 * - `drove.session.payload.size` (histogram, bytes; `created`)
 *
 * Needs the optional peer `@opentelemetry/api`; without a registered MeterProvider the
 * instruments are no-ops.
 * @example
 * ```ts
 * app.use(session({ store, onEvent: await otelSessionEvents() }));
 * ```
 */
export async function otelSessionEvents(
  options: { meter?: Meter } = {},
): Promise<(event: SessionEvent) => void> {
  const meter =
    options.meter ??
    (
      await importPeer(
        '@opentelemetry/api',
        'otelSessionEvents()',
        () => import('@opentelemetry/api'),
      )
    ).metrics.getMeter('drove.session');
  const duration = meter.createHistogram('drove.session.store.duration', { unit: 'ms' });
  const loads = meter.createCounter('drove.session.loads');
  const conflicts = meter.createCounter('drove.session.conflicts');
  const touches = meter.createCounter('drove.session.touches');
  const destroyed = meter.createCounter('drove.session.destroyed');
  const size = meter.createHistogram('drove.session.payload.size', { unit: 'By' });
  return function recordSessionEvent(event) {
    switch (event.type) {
      case 'store':
        duration.record(event.durationMs, { operation: event.operation, ok: event.ok });
        break;
      case 'load':
        loads.add(1, { outcome: event.outcome });
        break;
      case 'conflict':
        conflicts.add(1);
        break;
      case 'touch':
        touches.add(1);
        break;
      case 'save':
        size.record(event.bytes, { created: event.created });
        break;
      case 'destroy':
        destroyed.add(event.count);
        break;
    }
  };
}

import { js, ts } from '../rule-tester.test-helpers.js';
import { noStickySessions as rule } from './no-sticky-sessions.js';

js.run('drove/no-sticky-sessions', rule, {
  valid: [
    `import { Server } from 'socket.io'; const io = new Server(server, { transports: ['websocket'] });`,
    `const service = { spec: { sessionAffinity: 'None', ports: [{ port: 80 }] } };`,
    `const target = { stickiness: false, stickySessions: undefined };`,
    // pauseOnConnect without cluster: a plain net server.
    `import net from 'node:net'; const server = net.createServer({ pauseOnConnect: true }, onConnection);`,
    // Destructuring a property of that name is not configuring it.
    `const { sessionAffinity } = service.spec;`,
  ],
  invalid: [
    {
      code: `const { setupMaster, setupWorker } = require('@socket.io/sticky');`,
      errors: [{ messageId: 'stickyPackage', data: { pkg: '@socket.io/sticky' } }],
    },
    {
      code: `import sticky from 'sticky-session';`,
      errors: [{ messageId: 'stickyPackage' }],
    },
    {
      code: `const { setupPrimary } = await import('@socket.io/sticky');`,
      errors: [{ messageId: 'stickyPackage' }],
    },
    {
      code: `const service = { apiVersion: 'v1', kind: 'Service', spec: { sessionAffinity: 'ClientIP' } };`,
      errors: [{ messageId: 'affinityOption', data: { name: 'sessionAffinity' } }],
    },
    {
      code: `new elbv2.ApplicationTargetGroup(this, 'tg', { port: 80, stickinessCookieDuration: Duration.hours(1) });`,
      errors: [{ messageId: 'affinityOption', data: { name: 'stickinessCookieDuration' } }],
    },
    {
      code: `const lb = { stickySessions: true };`,
      errors: [{ messageId: 'affinityOption' }],
    },
    {
      code: `import cluster from 'node:cluster'; import net from 'node:net';
             if (cluster.isPrimary) net.createServer({ pauseOnConnect: true }, (c) => workers[hash(c.remoteAddress)].send('c', c)).listen(3000);`,
      errors: [{ messageId: 'clusterAffinity', line: 2 }],
    },
  ],
});

ts.run('drove/no-sticky-sessions (TypeScript)', rule, {
  valid: [],
  invalid: [
    {
      code: `import { setupWorker } from '@socket.io/sticky'; import type { Server } from 'socket.io';
             export function attach(io: Server): void { setupWorker(io); }`,
      errors: [{ messageId: 'stickyPackage', line: 1 }],
    },
  ],
});

import { js, ts } from '../rule-tester.test-helpers.js';
import { noMemorySessionStore as rule } from './no-memory-session-store.js';

js.run('drove/no-memory-session-store', rule, {
  valid: [
    // A shared store, however it is imported.
    `import session from 'express-session'; import RedisStore from 'connect-redis';
     app.use(session({ secret: 's', store: new RedisStore({ client }) }));`,
    `const session = require('express-session');
     app.use(session({ secret: 's', store: sharedStore }));`,
    // Options built elsewhere: unknown, so no finding.
    `import session from 'express-session'; app.use(session(options));`,
    `import session from 'express-session'; app.use(session({ ...base, secret: 's' }));`,
    // Cookie sessions keep nothing in the process.
    `import cookieSession from 'cookie-session'; app.use(cookieSession({ keys: ['k'] }));`,
    `import fastifySession from '@fastify/session';
     fastify.register(fastifySession, { secret: 's', store: new RedisStore({ client }) });`,
    // A function that is merely called "session" but comes from elsewhere.
    `import { session } from 'drovejs/session/express'; app.use(session({ store }));`,
    `app.use(session({ secret: 's' }));`,
  ],
  invalid: [
    {
      code: `var session = require('express-session');
             app.use(session({ secret: 'keyboard cat', resave: false, saveUninitialized: true }));`,
      errors: [{ messageId: 'defaultStore', line: 2 }],
    },
    {
      code: `import session from 'express-session'; app.use(session());`,
      errors: [{ messageId: 'defaultStore' }],
    },
    {
      code: `import session from 'express-session';
             const options = { secret: 's', store: undefined }; app.use(session(options));`,
      errors: [{ messageId: 'defaultStore' }],
    },
    {
      code: `import session from 'express-session';
             app.use(session({ secret: 's', store: new session.MemoryStore() }));`,
      errors: [{ messageId: 'memoryStore' }],
    },
    {
      code: `import { MemoryStore } from 'express-session'; const store = new MemoryStore();`,
      errors: [{ messageId: 'memoryStore' }],
    },
    {
      code: `const session = require('express-session');
             const MemoryStore = require('memorystore')(session);
             app.use(session({ store: new MemoryStore({ checkPeriod: 86400000 }), secret: 's' }));`,
      errors: [{ messageId: 'memoryStore', line: 3 }],
    },
    {
      code: `import fastifySession from '@fastify/session';
             fastify.register(fastifySession, { secret: 'a secret with minimum length of 32 characters' });`,
      errors: [{ messageId: 'defaultStore' }],
    },
    {
      code: `await app.register(import('@fastify/session'), { secret: 's' });`,
      errors: [{ messageId: 'defaultStore' }],
    },
    {
      code: `import { sessionMiddleware, MemoryStore } from 'hono-sessions';
             app.use('*', sessionMiddleware({ store: new MemoryStore() }));`,
      errors: [{ messageId: 'memoryStore' }],
    },
    {
      code: `const session = require('koa-generic-session'); app.use(session());`,
      errors: [{ messageId: 'defaultStore' }],
    },
    {
      // TypeScript compiled to CommonJS.
      code: `const express_session_1 = __importDefault(require("express-session"));
             app.use((0, express_session_1.default)({ secret: 's' }));`,
      errors: [{ messageId: 'defaultStore' }],
    },
  ],
});

ts.run('drove/no-memory-session-store (TypeScript)', rule, {
  valid: [
    `import session from 'express-session'; import type { Store } from 'express-session';
     declare const store: Store; app.use(session({ secret: 's', store } satisfies session.SessionOptions));`,
  ],
  invalid: [
    {
      code: `import session, { type SessionOptions } from 'express-session';
             const options: SessionOptions = { secret: 's' };
             app.use(session(options as SessionOptions));`,
      errors: [{ messageId: 'defaultStore', line: 3 }],
    },
  ],
});

import { sessionSuite } from './suite.js';

sessionSuite('memcached');

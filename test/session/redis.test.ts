import { sessionSuite } from './suite.js';

sessionSuite('redis');

import { sessionSuite } from './suite.js';

sessionSuite('sqlite');

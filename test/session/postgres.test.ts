import { sessionSuite } from './suite.js';

sessionSuite('postgres');

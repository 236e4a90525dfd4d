// Several real hub processes on the machine's Redis behave as one hub (the suite: cluster-suite.ts).
import { clusterSuite } from './cluster-suite.js';
import { REDIS_URL, deletePrefix } from './cluster-harness.js';

clusterSuite({
  name: 'one Redis server',
  start: async (prefix) => ({ env: { REDIS_URL }, stop: () => deletePrefix(prefix) }),
});

// Several real hub processes on the machine's Redis behave as one hub (the suite: cluster-suite.ts).
import { REDIS_URL, deletePrefix } from '../support/redis-keys.js';
import { clusterSuite } from './cluster-suite.js';

clusterSuite({
  name: 'one Redis server',
  start: async (prefix) => ({ env: { REDIS_URL }, stop: () => deletePrefix(prefix) }),
});

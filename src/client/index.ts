/**
 * roomcast's client library, for browsers and Node.js 20+: `import { RoomcastClient,
 * RoomcastPublisher } from 'roomcast/client'`, or from the hub's `/sdk/roomcast.js`.
 */
export { RoomcastClient } from './client.js';
export { RoomcastPublisher } from './publisher.js';
export type { Subscription } from './subscription.js';
export { RoomcastError } from './errors.js';
export { compareEventIds, fullJitterDelay } from './backoff.js';
export type {
  AnyEvent, AuthOptions, BatchResult, ClientOptions, ConnectedInfo, EventDataMap, GapInfo, JoinResult, LeaveResult,
  PresenceInfo, PublishInput, PublishOptions, PublisherOptions, PublishResult, ReasonInfo, RoomcastEvent, RoomInfo,
  Credentials, ShutdownInfo, SubscribeOptions, SubscriptionEvents, SubscriptionState,
} from './types.js';

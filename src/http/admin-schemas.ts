import { z } from 'zod';
import { connectionIdSchema, userIdSchema } from './schemas.js';

/** Longest `reason` an operator may give a disconnect, in characters. */
export const MAX_REASON_CHARS = 200;
/** How far ahead of this process's clock a revocation's `before` may lie (clock skew between machines), in ms. */
export const MAX_BEFORE_AHEAD_MS = 60_000;

/** `POST /admin/disconnect`: exactly one of `userId`, `connectionId`; an optional reason. */
export const disconnectSchema = z.object({
  userId: userIdSchema.optional(),
  connectionId: connectionIdSchema.optional(),
  reason: z.string().min(1).max(MAX_REASON_CHARS).optional(),
}).strict().superRefine((v, ctx) => {
  if ((v.userId === undefined) === (v.connectionId === undefined)) {
    ctx.addIssue({ code: 'custom', message: 'give exactly one of userId, connectionId', path: ['userId'] });
  }
}).meta({ oneOf: [{ required: ['userId'] }, { required: ['connectionId'] }] });

/** `POST /admin/revoke`: a user and, optionally, the ISO-8601 instant its tokens must postdate. */
export const revokeSchema = z.object({
  userId: userIdSchema,
  before: z.iso.datetime({ offset: true, message: 'must be an ISO-8601 date-time with Z or an offset' }).optional(),
}).strict().superRefine((v, ctx) => {
  // A `before` in the future would refuse tokens not yet issued: a ban, which revoke is not.
  if (v.before !== undefined && Date.parse(v.before) > Date.now() + MAX_BEFORE_AHEAD_MS) {
    ctx.addIssue({ code: 'custom', message: 'must not be in the future', path: ['before'] });
  }
});

import { Router, type RequestHandler } from 'express';
import type { Hub } from '../../core/hub.js';
import { principalOf } from '../auth.js';
import { chatSchema, membershipSchema, parseWith, roomParam } from '../schemas.js';

/** Rooms: list, members, join, leave, chat messages (the last three counted by `limit`, per user). */
export function roomsRouter(hub: Hub, auth: RequestHandler, json: RequestHandler, limit: RequestHandler): Router {
  const router = Router();

  router.get('/rooms', auth, async (_req, res) => {
    res.json({ rooms: await hub.rooms(principalOf(res)) });
  });

  router.get('/rooms/:roomId/members', auth, async (req, res) => {
    const roomId = roomParam(req.params.roomId);
    res.json({ roomId, users: await hub.members(principalOf(res), roomId) });
  });

  router.post('/rooms/:roomId/join', auth, limit, json, async (req, res) => {
    const roomId = roomParam(req.params.roomId);
    const { connectionId } = parseWith(membershipSchema, req.body);
    res.json({ roomId, joined: await hub.join(principalOf(res), roomId, connectionId ?? null) });
  });

  router.post('/rooms/:roomId/leave', auth, limit, json, async (req, res) => {
    const roomId = roomParam(req.params.roomId);
    const { connectionId } = parseWith(membershipSchema, req.body);
    res.json({ roomId, left: await hub.leave(principalOf(res), roomId, connectionId ?? null) });
  });

  router.post('/rooms/:roomId/messages', auth, limit, json, async (req, res) => {
    const roomId = roomParam(req.params.roomId);
    const { text } = parseWith(chatSchema, req.body);
    res.status(202).json(await hub.chat(principalOf(res), roomId, text));
  });

  return router;
}

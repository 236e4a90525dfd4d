// Connection on a FakeSink: the per-stream queue (one write per flush), replay hold-back and
// de-duplication, and the byte bound that makes a slow consumer evictable.
import { describe, expect, it } from 'vitest';
import { Sent } from '../../src/core/connection.js';
import type { HubEvent } from '../../src/core/events.js';
import { formatEventId } from '../../src/core/event-id.js';
import { fakeConnection } from '../support/fake-sink.js';

const frame = (text: string): Buffer => Buffer.from(`${text}\n\n`);
const id = (n: number): string => formatEventId(n);

describe('Connection: live sends and flush', () => {
  it('queues frames until flush, then writes them as one chunk', () => {
    const c = fakeConnection('u');
    expect(c.send(frame('a'), id(1), 10)).toBe(Sent.First);
    expect(c.send(frame('b'), id(2), 20)).toBe(Sent.Queued);
    expect(c.send(frame('c'), undefined, 30)).toBe(Sent.Queued);
    expect(c.sink.chunks).toEqual([]);
    expect(c.lastActivity).toBe(30);
    expect(c.flush()).toBe(true);
    expect(c.sink.calls).toEqual({ write: 1, writev: 0 });
    expect(c.sink.text).toBe('a\n\nb\n\nc\n\n');
    // the next frame starts a new batch
    expect(c.send(frame('d'), id(3), 40)).toBe(Sent.First);
  });

  it('writes a single queued frame as the shared buffer itself, without a copy', () => {
    const c = fakeConnection('u');
    const f = frame('only');
    c.send(f, id(1), 0);
    c.flush();
    expect(c.sink.chunks).toHaveLength(1);
    expect(c.sink.chunks[0]).toBe(f);
  });

  it('hands a batch over 64 KiB to one vectored write without copying', () => {
    const c = fakeConnection('u');
    const big = [Buffer.alloc(40_000, 'x'), Buffer.alloc(40_000, 'y')];
    c.send(big[0]!, id(1), 0);
    c.send(big[1]!, id(2), 0);
    c.flush();
    expect(c.sink.calls).toEqual({ write: 0, writev: 1 });
    expect(c.sink.chunks[0]).toBe(big[0]);
    expect(c.sink.chunks[1]).toBe(big[1]);
  });

  it('drops an event it already has (id not newer than the last) but never a control frame', () => {
    const c = fakeConnection('u');
    expect(c.send(frame('e2'), id(2), 0)).toBe(Sent.First);
    expect(c.send(frame('e2 again'), id(2), 0)).toBe(Sent.Dropped);
    expect(c.send(frame('e1'), id(1), 0)).toBe(Sent.Dropped);
    expect(c.send(frame('ctl'), undefined, 0)).toBe(Sent.Queued);
    expect(c.send(frame('ctl'), undefined, 0)).toBe(Sent.Queued);
    c.flush();
    expect(c.sink.text).toBe('e2\n\nctl\n\nctl\n\n');
  });

  it('drops everything once closed, and a flush after closing writes nothing', () => {
    const c = fakeConnection('u');
    c.send(frame('queued'), id(1), 0);
    c.closed = 'client';
    expect(c.send(frame('late'), id(2), 0)).toBe(Sent.Dropped);
    expect(c.flush()).toBe(true);
    expect(c.sink.chunks).toEqual([]);
  });
});

describe('Connection: replay', () => {
  it('holds live frames while replaying, then writes only those newer than the replay, in order', () => {
    const c = fakeConnection('u', [], { replaying: true });
    expect(c.replaying).toBe(true);
    // live events published while history is read: 2 and 3 will also come from history
    expect(c.send(frame('live 2'), id(2), 0)).toBe(Sent.Queued);
    expect(c.send(frame('live 3'), id(3), 0)).toBe(Sent.Queued);
    expect(c.send(frame('presence'), undefined, 0)).toBe(Sent.Queued);
    expect(c.send(frame('live 4'), id(4), 0)).toBe(Sent.Queued);
    expect(c.flush()).toBe(true);
    expect(c.sink.chunks).toEqual([]);
    c.writeNow(frame('connected'));
    c.writeReplayed(frame('replayed 1'), id(1));
    c.writeReplayed(frame('replayed 2'), id(2));
    c.writeReplayed(frame('replayed 3'), id(3));
    expect(c.goLive()).toBe(true);
    expect(c.replaying).toBe(false);
    expect(c.sink.text).toBe('connected\n\nreplayed 1\n\nreplayed 2\n\nreplayed 3\n\npresence\n\nlive 4\n\n');
    // live from now on, still de-duplicated against the replay
    expect(c.send(frame('live 3 again'), id(3), 0)).toBe(Sent.Dropped);
    expect(c.send(frame('live 5'), id(5), 0)).toBe(Sent.First);
    expect(c.goLive()).toBe(true);
  });

  it('writes the preamble ahead of anything queued', () => {
    const c = fakeConnection('u');
    c.send(frame('queued'), id(1), 0);
    c.writeNow(frame('now'));
    expect(c.sink.text).toBe('queued\n\nnow\n\n');
  });
});

describe('Connection: the byte bound', () => {
  it('answers Over when a live send finds the socket holding more than the bound', () => {
    const c = fakeConnection('u', [], { maxBufferedBytes: 100 });
    c.sink.stall();
    c.send(frame('x'.repeat(150)), id(1), 0);
    // the flush hands 152 bytes to a socket that does not drain: over the bound
    expect(c.flush()).toBe(false);
    expect(c.send(frame('more'), id(2), 0)).toBe(Sent.Over);
  });

  it('answers Over when frames held during replay pass the bound, and goLive reports it', () => {
    const c = fakeConnection('u', [], { maxBufferedBytes: 100, replaying: true });
    c.sink.stall();
    expect(c.send(frame('a'.repeat(60)), id(1), 0)).toBe(Sent.Queued);
    expect(c.congested).toBe(true);
    expect(c.send(frame('b'.repeat(60)), id(2), 0)).toBe(Sent.Over);
    expect(c.goLive()).toBe(false);
  });

  it('is congested (replay waits for drain) past half the bound', () => {
    const c = fakeConnection('u', [], { maxBufferedBytes: 100, replaying: true });
    c.sink.stall();
    c.writeReplayed(frame('r'.repeat(40)), id(1));
    expect(c.congested).toBe(false);
    c.writeReplayed(frame('r'.repeat(10)), id(2));
    expect(c.congested).toBe(true);
  });
});

describe('Connection: entitlement', () => {
  it('asks the one rule with itself as the receiver', () => {
    const c = fakeConnection('alice', ['lobby'], { metadata: { tier: 'gold' } });
    const ev: HubEvent = {
      id: id(1), type: 't', data: null, room: 'lobby', userId: null, connectionId: null, filters: { tier: 'gold' },
      sender: 's', ownerUserId: null, timestamp: new Date(0).toISOString(),
    };
    expect(c.entitled(ev)).toBe(true);
    expect(c.entitled({ ...ev, room: 'elsewhere' })).toBe(false);
    expect(c.entitled({ ...ev, filters: { tier: 'silver' } })).toBe(false);
    expect(c.entitled({ ...ev, room: null, connectionId: c.id, ownerUserId: 'alice' })).toBe(true);
    expect(c.entitled({ ...ev, room: null, connectionId: 'other', ownerUserId: 'alice' })).toBe(false);
  });
});

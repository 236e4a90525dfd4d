/**
 * Runs the room-limit checks of one user on this process one at a time, each through the write
 * that makes its rooms count (the membership, or the stream's presence record). Why: checks that
 * overlap all read the same rooms and all pass, so ten parallel joins put a user ten rooms past the
 * limit; serialized, each check sees what the one before it added.
 */
export class UserSerial {
  private readonly tails = new Map<string, Promise<unknown>>();

  /** Runs `work` after every earlier call for `userId` on this process has settled. */
  run<T>(userId: string, work: () => Promise<T>): Promise<T> {
    const before = this.tails.get(userId) ?? Promise.resolve();
    const result = before.then(work, work);
    const tail = result.catch(() => undefined);
    this.tails.set(userId, tail);
    void tail.then(() => {
      if (this.tails.get(userId) === tail) this.tails.delete(userId);
    });
    return result;
  }
}

/** Roles a token may carry. */
export type Role = 'user' | 'publisher' | 'admin';

/** The authenticated caller, taken from a verified token. */
export interface Principal {
  /** User id (the token's `sub`). */
  readonly userId: string;
  readonly role: Role;
  /** Room ids or `prefix*` patterns the holder may join; undefined means no narrowing. */
  readonly rooms: readonly string[] | undefined;
  /** Token expiry, seconds since the epoch. */
  readonly exp: number;
  /** When the token was issued (its `iat`), seconds since the epoch; undefined when it has none. */
  readonly iat?: number | undefined;
}

import { randomBytes } from "node:crypto";

const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"; // Crockford base32, lower case

let lastTime = -1;
let lastRandom: Buffer = Buffer.alloc(10);

/**
 * A ULID-shaped id (26 chars): 48 bits of milliseconds then 80 random bits, so ids sort by
 * creation time. Within one millisecond the random part is incremented, keeping ids from one
 * process strictly increasing.
 */
export function sortableId(now: number = Date.now()): string {
  if (now <= lastTime) {
    incrementInPlace(lastRandom);
    now = lastTime;
  } else {
    lastTime = now;
    lastRandom = randomBytes(10);
  }
  let out = "";
  let t = now;
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[t % 32] + out;
    t = Math.floor(t / 32);
  }
  // 80 bits -> 16 base32 chars, 5 bits at a time.
  let bits = 0;
  let acc = 0;
  for (const byte of lastRandom) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET[(acc >> bits) & 31];
    }
    acc &= (1 << bits) - 1;
  }
  return out;
}

function incrementInPlace(buf: Buffer): void {
  for (let i = buf.length - 1; i >= 0; i--) {
    if (buf[i]! < 255) {
      buf[i] = buf[i]! + 1;
      return;
    }
    buf[i] = 0;
  }
}

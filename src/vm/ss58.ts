// SS58 addresses (the Substrate address format): base58 of prefix + payload + checksum, the
// checksum being the first bytes of blake2b-512("SS58PRE" + prefix + payload).
// Decoding here is strict on purpose: a mistyped miner address would only be noticed much later,
// inside the guest, when the miner fails to register.
import {blake2b} from '@noble/hashes/blake2';
import {base58} from '@scure/base';

/** Networks the wizard recognises. Bittensor uses the generic Substrate prefix, 42. */
export const KNOWN_SS58_PREFIXES: Readonly<Record<number, string>> = {
  0: 'Polkadot',
  2: 'Kusama',
  42: 'generic Substrate (Bittensor)',
};

export interface Ss58Address {
  address: string;
  prefix: number;
  network: string;
  /** The account id (a public key for 32/33-byte payloads). */
  payload: Uint8Array;
}

export type Ss58Result = {ok: true; value: Ss58Address} | {ok: false; message: string; fix: string};

const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const PREAMBLE = new TextEncoder().encode('SS58PRE');
/** Payload length -> checksum length, per the format's table of address types. */
const CHECKSUM_LENGTH: Readonly<Record<number, number>> = {1: 1, 2: 1, 4: 1, 8: 1, 32: 2, 33: 2};
const FIX = 'copy the address again from your wallet (btcli wallet overview shows it); it starts with 5 for Bittensor';

const VALID_LENGTHS = new Set(Object.entries(CHECKSUM_LENGTH).flatMap(([n, sum]) => [1, 2].map((p) => Number(n) + sum + p)));

function wrongLength(bytes: number, chars: number): Ss58Result {
  return fail(`the SS58 address has the wrong length: it decodes to ${bytes} bytes, an account address to 35 (${chars} characters given; Bittensor addresses have 48)`);
}

function fail(message: string, fix = FIX): Ss58Result {
  return {ok: false, message, fix};
}

function checksum(body: Uint8Array): Uint8Array {
  const input = new Uint8Array(PREAMBLE.length + body.length);
  input.set(PREAMBLE);
  input.set(body, PREAMBLE.length);
  return blake2b(input, {dkLen: 64});
}

export function decodeSs58(input: string, known: Readonly<Record<number, string>> = KNOWN_SS58_PREFIXES): Ss58Result {
  const address = input.trim();
  if (!address) return fail('the SS58 address is empty');
  for (let i = 0; i < address.length; i++) {
    const ch = address[i]!;
    if (!ALPHABET.includes(ch)) {
      const why = '0OIl'.includes(ch) ? ` (base58 has no ${ch}: it is too easy to confuse)` : '';
      return fail(`bad character ${JSON.stringify(ch)} at position ${i + 1} of the SS58 address${why}`);
    }
  }
  const bytes = base58.decode(address);
  // Length first: a dropped character shifts every byte, so the prefix byte would mislead.
  if (!VALID_LENGTHS.has(bytes.length)) return wrongLength(bytes.length, address.length);
  const first = bytes[0] ?? 0;
  if (first > 127) return fail(`the SS58 address starts with the reserved byte ${first}, which no network uses`);
  let prefix: number;
  let prefixLength: number;
  if (first < 64) {
    prefix = first;
    prefixLength = 1;
  } else {
    const second = bytes[1] ?? 0;
    // The 14-bit identifier is split across the two bytes, low bits first (SS58 spec).
    prefix = ((first & 0x3f) << 2) | (second >> 6) | ((second & 0x3f) << 8);
    prefixLength = 2;
  }
  const rest = bytes.length - prefixLength;
  const payloadLength = [33, 32, 8, 4, 2, 1].find((n) => n + (CHECKSUM_LENGTH[n] ?? 0) === rest);
  if (payloadLength === undefined) return wrongLength(bytes.length, address.length);
  const checksumLength = CHECKSUM_LENGTH[payloadLength]!;
  const body = bytes.subarray(0, bytes.length - checksumLength);
  const expected = checksum(body).subarray(0, checksumLength);
  const actual = bytes.subarray(bytes.length - checksumLength);
  if (!expected.every((b, i) => b === actual[i])) {
    return fail('the SS58 address has a wrong checksum: a character is mistyped, missing or extra');
  }
  const network = known[prefix];
  if (network === undefined) {
    const names = Object.entries(known).map(([n, name]) => `${n} (${name})`).join(', ');
    return fail(`unknown SS58 prefix ${prefix}: the wizard knows ${names}`, 'give the address in the Bittensor format (prefix 42, starts with 5)');
  }
  return {ok: true, value: {address, prefix, network, payload: bytes.slice(prefixLength, prefixLength + payloadLength)}};
}

/** The address of `payload` on network `prefix` (used by the tests and to show the Bittensor form). */
export function encodeSs58(payload: Uint8Array, prefix: number): string {
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > 16383 || prefix === 46 || prefix === 47) throw new Error(`invalid SS58 prefix ${prefix}`);
  const checksumLength = CHECKSUM_LENGTH[payload.length];
  if (checksumLength === undefined) throw new Error(`invalid SS58 payload length ${payload.length}`);
  const head =
    prefix < 64 ? [prefix] : [((prefix & 0xfc) >> 2) | 0x40, (prefix >> 8) | ((prefix & 0x03) << 6)];
  const body = new Uint8Array(head.length + payload.length);
  body.set(head);
  body.set(payload, head.length);
  const sum = checksum(body).subarray(0, checksumLength);
  const all = new Uint8Array(body.length + sum.length);
  all.set(body);
  all.set(sum, body.length);
  return base58.encode(all);
}

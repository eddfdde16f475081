import {describe, expect, it} from 'vitest';
import {base58} from '@scure/base';
import {decodeSs58, encodeSs58, KNOWN_SS58_PREFIXES} from '../src/vm/ss58.js';

const ALICE = Buffer.from('d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d', 'hex');
const ALICE_42 = '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY';

function error(address: string, known = KNOWN_SS58_PREFIXES): string {
  const r = decodeSs58(address, known);
  if (r.ok) throw new Error(`${address} decoded`);
  expect(r.fix).toBeTruthy();
  return r.message;
}

describe('SS58 decoding', () => {
  it('decodes the well-known addresses of one key on three networks', () => {
    for (const [address, prefix] of [
      [ALICE_42, 42],
      ['15oF4uVJwmo4TdGW7VfQxNLavjCXviqxT9S1MgbjMNHr6Sp5', 0],
      ['HNZata7iMYWmk5RvZRTiAsSDhV8366zq2YGb3tLH5Upf74F', 2],
    ] as const) {
      const r = decodeSs58(address);
      expect(r.ok, address).toBe(true);
      if (!r.ok) continue;
      expect(r.value.prefix).toBe(prefix);
      expect(Buffer.from(r.value.payload)).toEqual(ALICE);
      expect(encodeSs58(ALICE, prefix)).toBe(address);
    }
    expect(decodeSs58(ALICE_42)).toMatchObject({ok: true, value: {network: expect.stringMatching(/Bittensor/)}});
  });

  it('decodes two-byte prefixes (public vectors from polkadot-js)', () => {
    const known = {66: 'a', 69: 'b', 252: 'c', 255: 'd'};
    for (const [address, prefix] of [
      ['cTGShekJ1L1UKFZR9xmv9UTJod7vqjFAPo4sDhXih2c3y1yLS', 66],
      ['cnVvyMzRdqjwejTFuByQQ4w2yu78V2hpFixjHQz5zr6NSYsxA', 69],
      ['xw8Ffc2SZtDqUJKd9Ky4vc7PRz2D2asuVkEEzf3WGAbw9cnfq', 252],
      ['yGHU8YKprxHbHdEv7oUK4rzMZXtsdhcXVG2CAMyC9WhzhjH2k', 255],
    ] as const) {
      const r = decodeSs58(address, known);
      expect(r, address).toMatchObject({ok: true, value: {prefix}});
      if (r.ok) expect(encodeSs58(r.value.payload, prefix)).toBe(address);
    }
  });

  it('round-trips every payload size of the format and the whole prefix range', () => {
    for (const size of [1, 2, 4, 8, 32, 33]) {
      for (const prefix of [0, 2, 42, 63, 64, 1000, 16383]) {
        const payload = Uint8Array.from({length: size}, (_, i) => (i * 37 + prefix) & 0xff);
        const r = decodeSs58(encodeSs58(payload, prefix), {[prefix]: 'x'});
        expect(r, `${size}/${prefix}`).toMatchObject({ok: true, value: {prefix}});
        if (r.ok) expect(Buffer.from(r.value.payload)).toEqual(Buffer.from(payload));
      }
    }
  });

  it('trims surrounding whitespace from a pasted address', () => {
    expect(decodeSs58(`  ${ALICE_42}\n`)).toMatchObject({ok: true, value: {address: ALICE_42}});
  });

  it('names a bad character and its position', () => {
    expect(error(`${ALICE_42.slice(0, 4)}0${ALICE_42.slice(5)}`)).toBe('bad character "0" at position 5 of the SS58 address (base58 has no 0: it is too easy to confuse)');
    expect(error(`${ALICE_42.slice(0, 9)}l${ALICE_42.slice(10)}`)).toMatch(/bad character "l" at position 10.*base58 has no l/);
    expect(error(`${ALICE_42.slice(0, 2)}-${ALICE_42.slice(3)}`)).toBe('bad character "-" at position 3 of the SS58 address');
    expect(error(`5Grwva EF5z`)).toMatch(/bad character " " at position 7/);
  });

  it('says when the length is wrong', () => {
    expect(error(ALICE_42.slice(0, -1))).toMatch(/wrong length: it decodes to \d+ bytes, an account address to 35/);
    expect(error(`${ALICE_42}5555`)).toMatch(/wrong length/);
    expect(error(`${ALICE_42}5`)).toMatch(/wrong length|wrong checksum/);
    expect(error('')).toMatch(/empty/);
  });

  it('says when the checksum is wrong (a mistyped character)', () => {
    const typo = `${ALICE_42.slice(0, 20)}${ALICE_42[20] === 'a' ? 'b' : 'a'}${ALICE_42.slice(21)}`;
    expect(error(typo)).toMatch(/wrong checksum/);
    const last = `${ALICE_42.slice(0, -1)}${ALICE_42.endsWith('Z') ? 'Y' : 'Z'}`;
    expect(error(last)).toMatch(/wrong checksum/);
  });

  it('refuses a valid address of an unknown network, naming its prefix', () => {
    expect(error(encodeSs58(ALICE, 7))).toMatch(/^unknown SS58 prefix 7: the wizard knows 0 \(Polkadot\), 2 \(Kusama\), 42/);
    expect(error(encodeSs58(ALICE, 1000))).toMatch(/unknown SS58 prefix 1000/);
  });

  it('refuses the reserved first bytes', () => {
    const bytes = Buffer.concat([Buffer.from([200]), ALICE, Buffer.from([0, 0])]);
    expect(error(base58.encode(bytes))).toMatch(/reserved byte 200/);
  });
});


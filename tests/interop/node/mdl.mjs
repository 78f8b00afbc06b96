#!/usr/bin/env node
// Interop driver for eDL's tests: issue and verify ISO/IEC 18013-5 mdocs with @auth0/mdl, an
// independent TypeScript implementation (cbor-x, cose-kit, pkijs), so eDL can be checked against
// it in both directions. Every command prints one JSON object on stdout; exit 0 unless the
// command itself could not run (a credential that does not verify is still exit 0, valid=false).
//
//   node mdl.mjs issue  --key DS_KEY.pem --cert DS.pem [--cert CA.pem] --data DATA.json --out OUT.cbor
//                       [--device-key-out DEVICE.jwk.json] [--signed T --valid-from T --valid-until T
//                       --expected-update T] [--kid KID] [--form device-response|issuer-signed]
//                       [--device-curve P-256|P-384|P-521|Ed25519]
//   node mdl.mjs present --in MDOC.cbor --device-key DEVICE.jwk.json --transcript HEX --out OUT.cbor
//   node mdl.mjs verify --in FILE.cbor --trust ROOT.pem [--transcript HEX]
//   node mdl.mjs pki    --out DIR [--country CN]        (an IACA root + DS made with @peculiar/x509)
//
// DATA.json maps namespace -> element -> value. Plain JSON values go through as they are (so the
// library applies its own conversions, e.g. birth_date strings become full-dates); these wrappers
// give other CBOR types: {"$bytes": base64} -> bstr, {"$tdate": ISO} -> JS Date (tag 0),
// {"$fulldate": "YYYY-MM-DD"} -> the library's DateOnly (tag 1004), {"$int": n} / {"$float": x}.
// `verify` reports claim values with the same wrappers, so the caller sees CBOR types.

import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { createPrivateKey, createPublicKey, generateKeyPairSync, webcrypto } from 'node:crypto';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Document, MDoc, Verifier, DeviceResponse, parse } from '@auth0/mdl';
import { DateOnly, cborDecode, cborEncode, DataItem } from '@auth0/mdl/lib/cbor/index.js';
import * as x509 from '@peculiar/x509';

const ALG_BY_CURVE = { 'P-256': 'ES256', 'P-384': 'ES384', 'P-521': 'ES512', Ed25519: 'EdDSA' };

function revive(value) {
  if (Array.isArray(value)) return value.map(revive);
  if (value && typeof value === 'object') {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0].startsWith('$')) {
      const v = value[keys[0]];
      switch (keys[0]) {
        case '$bytes': return new Uint8Array(Buffer.from(v, 'base64'));
        case '$tdate': return new Date(v);
        case '$fulldate': return new DateOnly(v);
        case '$int': return v;
        case '$float': return v;
        default: throw new Error(`unknown wrapper ${keys[0]}`);
      }
    }
    return Object.fromEntries(keys.map((k) => [k, revive(value[k])]));
  }
  return value;
}

function describe(value) {
  if (value instanceof DateOnly) return { $fulldate: value.toISOString() };
  if (value instanceof Date) return { $tdate: value.toISOString() };
  if (value instanceof Uint8Array) return { $bytes: Buffer.from(value).toString('base64') };
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), describe(v)]));
  if (Array.isArray(value)) return value.map(describe);
  if (value && typeof value === 'object' && value.tag !== undefined && 'value' in value) {
    return { $tag: value.tag, value: describe(value.value) };
  }
  if (typeof value === 'number' && !Number.isInteger(value)) return { $float: value };
  return value;
}

function privateJwk(pemPath) {
  const jwk = createPrivateKey(readFileSync(pemPath)).export({ format: 'jwk' });
  return { ...jwk, alg: ALG_BY_CURVE[jwk.crv] };
}

async function issue(opts) {
  const issuerPrivateKey = privateJwk(opts.key);
  if (opts.kid) issuerPrivateKey.kid = opts.kid;
  const certs = opts.cert.map((p) => readFileSync(p, 'utf8'));
  const curve = opts['device-curve'] ?? 'P-256';
  const device = curve === 'Ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: curve });
  const devicePublic = device.publicKey.export({ format: 'jwk' });
  if (opts['device-key-out']) {
    writeFileSync(opts['device-key-out'], JSON.stringify(device.privateKey.export({ format: 'jwk' })));
  }
  const data = revive(JSON.parse(readFileSync(opts.data, 'utf8')));
  const validity = {};
  for (const [flag, field] of [['signed', 'signed'], ['valid-from', 'validFrom'], ['valid-until', 'validUntil'],
    ['expected-update', 'expectedUpdate']]) {
    if (opts[flag]) validity[field] = new Date(opts[flag]);
  }
  let doc = new Document('org.iso.18013.5.1.mDL');
  for (const [ns, elements] of Object.entries(data)) doc = doc.addIssuerNameSpace(ns, elements);
  const signed = await doc
    .useDigestAlgorithm('SHA-256')
    .addValidityInfo(validity)
    .addDeviceKeyInfo({ deviceKey: devicePublic })
    .sign({ issuerPrivateKey, issuerCertificate: certs.length === 1 ? certs[0] : certs, alg: issuerPrivateKey.alg });
  let encoded;
  if (opts.form === 'issuer-signed') {
    encoded = cborEncode(signed.prepare().get('issuerSigned'));
  } else {
    encoded = new MDoc([signed]).encode();
  }
  writeFileSync(opts.out, encoded);
  return { out: opts.out, bytes: encoded.length };
}

function transcriptBytes(hex) {
  // SessionTranscriptBytes = #6.24(bstr .cbor SessionTranscript); the caller gives the inner CBOR.
  return cborEncode(new DataItem({ buffer: new Uint8Array(Buffer.from(hex, 'hex')) }));
}

async function present(opts) {
  // The holder's side: a DeviceResponse disclosing every element, with a device signature (ES256)
  // over DeviceAuthentication for the given session transcript.
  const mdoc = parse(readFileSync(opts.in));
  const deviceJwk = JSON.parse(readFileSync(opts['device-key'], 'utf8'));
  const descriptors = mdoc.documents.map((d) => ({
    id: d.docType,
    format: { mso_mdoc: { alg: ['ES256'] } },
    constraints: {
      limit_disclosure: 'required',
      fields: Object.entries(d.issuerSigned.nameSpaces).flatMap(([ns, items]) => items.map((item) => ({
        path: [`$['${ns}']['${item.elementIdentifier}']`], intent_to_retain: false,
      }))),
    },
  }));
  const response = await DeviceResponse.from(mdoc)
    .usingPresentationDefinition({ id: 'edl-interop', input_descriptors: descriptors })
    .usingSessionTranscriptBytes(transcriptBytes(opts.transcript))
    .authenticateWithSignature(deviceJwk, 'ES256')
    .sign();
  const encoded = response.encode();
  writeFileSync(opts.out, encoded);
  return { out: opts.out, bytes: encoded.length };
}

function asDeviceResponse(bytes) {
  // @auth0/mdl parses DeviceResponses only: wrap a bare IssuerSigned in one (the items and the
  // issuerAuth are carried over as decoded DataItems / byte strings, so no signed byte changes).
  const top = cborDecode(bytes);
  if (!(top instanceof Map) || !top.has('issuerAuth')) return { bytes, wrapped: false };
  const payload = cborDecode(top.get('issuerAuth')[2]);
  const mso = payload instanceof DataItem ? payload.data : payload;
  const wrapped = cborEncode({
    version: '1.0',
    documents: [new Map([['docType', mso.get('docType')], ['issuerSigned', top]])],
    status: 0,
  });
  return { bytes: wrapped, wrapped: true };
}

async function verify(opts) {
  const trusted = [readFileSync(opts.trust, 'utf8')];
  const { bytes, wrapped } = asDeviceResponse(readFileSync(opts.in));
  const checks = [];
  const options = { onCheck: (check) => checks.push(check) };
  if (opts.transcript) options.encodedSessionTranscript = transcriptBytes(opts.transcript);
  let response;
  try {
    response = await new Verifier(trusted).verify(bytes, options);
  } catch (err) {
    return { valid: false, issuerValid: false, deviceValid: false, wrapped,
      errors: [{ id: err.code ?? err.name, category: 'PARSE', check: err.message }], claims: {} };
  }
  const failed = checks.filter((c) => c.status === 'FAILED')
    .map(({ id, category, check, reason }) => ({ id, category, check, reason }));
  const issuerFailed = failed.filter((c) => c.category !== 'DEVICE_AUTH');
  const claims = {};
  const items = {};
  for (const doc of response.documents) {
    for (const [ns, nsItems] of Object.entries(doc.issuerSigned.nameSpaces)) {
      claims[ns] = Object.fromEntries(nsItems.map((i) => [i.elementIdentifier, describe(i.elementValue)]));
    }
    items.validityInfo = describe(new Map(Object.entries(doc.issuerSigned.issuerAuth.decodedPayload.validityInfo)));
  }
  return {
    valid: failed.length === 0,
    issuerValid: issuerFailed.length === 0,
    deviceValid: !failed.some((c) => c.category === 'DEVICE_AUTH'),
    wrapped,
    errors: failed,
    claims,
    validityInfo: items.validityInfo,
  };
}

async function pki(opts) {
  // An IACA root and a document signer with the extensions of ISO/IEC 18013-5 Annex B, written by
  // @peculiar/x509 (the X.509 library @auth0/mdl itself uses), so certificates from another
  // ASN.1 encoder are exercised too.
  x509.cryptoProvider.set(webcrypto);
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const country = opts.country ?? 'CN';
  const rootKeys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const dsKeys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const day = 24 * 3600 * 1000;
  const now = Date.now();
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01' + Buffer.from(webcrypto.getRandomValues(new Uint8Array(15))).toString('hex'),
    name: `C=${country}, O=Node Interop, CN=Node Interop IACA`,
    notBefore: new Date(now - day),
    notAfter: new Date(now + 3650 * day),
    keys: rootKeys,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(rootKeys.publicKey),
    ],
  });
  const ds = await x509.X509CertificateGenerator.create({
    serialNumber: '02' + Buffer.from(webcrypto.getRandomValues(new Uint8Array(15))).toString('hex'),
    subject: `C=${country}, O=Node Interop, CN=Node Interop DS`,
    issuer: root.subject,
    notBefore: new Date(now - day),
    notAfter: new Date(now + 365 * day),
    publicKey: dsKeys.publicKey,
    signingKey: rootKeys.privateKey,
    signingAlgorithm: alg,
    extensions: [
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension(['1.0.18013.5.1.2'], true),
      await x509.SubjectKeyIdentifierExtension.create(dsKeys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(rootKeys.publicKey),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', dsKeys.privateKey));
  mkdirSync(opts.out, { recursive: true });
  writeFileSync(join(opts.out, 'root.pem'), root.toString('pem') + '\n');
  writeFileSync(join(opts.out, 'ds.pem'), ds.toString('pem') + '\n');
  writeFileSync(join(opts.out, 'ds.key.pem'),
    createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }).export({ format: 'pem', type: 'pkcs8' }),
    { mode: 0o600 });
  // sanity: the key file reads back as the DS public key
  createPublicKey(createPrivateKey(readFileSync(join(opts.out, 'ds.key.pem'))));
  return { root: join(opts.out, 'root.pem'), ds: join(opts.out, 'ds.pem'), key: join(opts.out, 'ds.key.pem') };
}

const COMMANDS = { issue, present, verify, pki };

async function main() {
  const [command, ...rest] = process.argv.slice(2);
  const run = COMMANDS[command];
  if (!run) {
    process.stderr.write(`usage: node mdl.mjs ${Object.keys(COMMANDS).join('|')} [options]\n`);
    process.exit(2);
  }
  const { values } = parseArgs({
    args: rest,
    options: {
      key: { type: 'string' }, cert: { type: 'string', multiple: true }, data: { type: 'string' },
      out: { type: 'string' }, in: { type: 'string' }, trust: { type: 'string' },
      transcript: { type: 'string' }, 'device-key': { type: 'string' }, 'device-key-out': { type: 'string' },
      signed: { type: 'string' }, 'valid-from': { type: 'string' }, 'valid-until': { type: 'string' },
      'expected-update': { type: 'string' }, kid: { type: 'string' }, form: { type: 'string' },
      country: { type: 'string' }, 'device-curve': { type: 'string' },
    },
  });
  const result = await run(values);
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exit(2);
});

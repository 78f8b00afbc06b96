// eDL interop driver for @animo-id/mdoc (OpenWallet Foundation's mdoc library). Every command prints one JSON
// object on stdout. The library is crypto-agnostic: the context below gives it Node's own crypto (node:crypto).
//
//   node animo.mjs transcript --form oid4vp|dcapi|draft18 [--client-id ..] [--nonce ..] [--response-uri ..]
//                             [--origin ..] [--jwk-thumbprint HEX] [--mdoc-nonce ..]
//   node animo.mjs present --in ISSUER_SIGNED.cbor --device-key DEVICE.jwk.json --transcript HEX --out OUT.cbor
//   node animo.mjs verify --in RESPONSE.cbor --trust ROOT.pem --transcript HEX
import { createHash, createPrivateKey, createPublicKey, randomBytes, sign, verify, X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  CoseKey, DeviceRequest, DeviceResponse, DocRequest, IssuerSigned, ItemsRequest, SessionTranscript, hex,
} from '@animo-id/mdoc';

const CURVES = { 'P-256': 'sha256', 'P-384': 'sha384', 'P-521': 'sha512' };

function jwkOf(key) {
  const jwk = { ...key.jwk };
  for (const k of Object.keys(jwk)) if (jwk[k] === undefined) delete jwk[k];
  return jwk;
}

const context = {
  crypto: {
    random: (length) => new Uint8Array(randomBytes(length)),
    digest: ({ digestAlgorithm, bytes }) =>
      new Uint8Array(createHash(digestAlgorithm.replace('-', '').toLowerCase()).update(bytes).digest()),
    calculateEphemeralMacKey: () => { throw new Error('deviceMac is not used by this driver'); },
  },
  cose: {
    sign1: {
      sign: ({ toBeSigned, key }) => {
        const jwk = jwkOf(key);
        const privateKey = createPrivateKey({ key: jwk, format: 'jwk' });
        return new Uint8Array(sign(CURVES[jwk.crv], toBeSigned, { key: privateKey, dsaEncoding: 'ieee-p1363' }));
      },
      verify: ({ key, sign1 }) => {
        const jwk = jwkOf(key);
        delete jwk.d;
        const publicKey = createPublicKey({ key: jwk, format: 'jwk' });
        return verify(CURVES[jwk.crv], sign1.toBeSigned, { key: publicKey, dsaEncoding: 'ieee-p1363' }, sign1.signature);
      },
    },
    mac0: {
      sign: () => { throw new Error('deviceMac is not used by this driver'); },
      verify: () => { throw new Error('deviceMac is not used by this driver'); },
    },
  },
  x509: {
    getIssuerNameField: ({ certificate, field }) => {
      const issuer = new X509Certificate(certificate).issuer;
      return issuer.split('\n').filter((line) => line.startsWith(`${field}=`)).map((line) => line.slice(field.length + 1));
    },
    getPublicKey: ({ certificate }) =>
      CoseKey.fromJwk(new X509Certificate(certificate).publicKey.export({ format: 'jwk' })),
    verifyCertificateChain: ({ trustedCertificates, x5chain, now }) => {
      // The DS certificate must be signed by a trusted root and both must be valid now (the issuer-side profile
      // checks are eDL's own business; this peer's verdict is the signature chain and the dates).
      const at = now ?? new Date();
      const leaf = new X509Certificate(x5chain[0]);
      const valid = (c) => new Date(c.validFrom) <= at && at <= new Date(c.validTo);
      if (!valid(leaf)) throw new Error('the DS certificate is not valid now');
      const root = trustedCertificates.map((t) => new X509Certificate(t)).find((t) => leaf.checkIssued(t) && leaf.verify(t.publicKey));
      if (!root || !valid(root)) throw new Error('no trusted root signed the DS certificate');
    },
    getCertificateData: ({ certificate }) => {
      const c = new X509Certificate(certificate);
      return {
        issuerName: c.issuer, subjectName: c.subject, serialNumber: c.serialNumber,
        thumbprint: c.fingerprint256.replaceAll(':', '').toLowerCase(),
        notBefore: new Date(c.validFrom), notAfter: new Date(c.validTo), pem: c.toString(),
      };
    },
  },
};

async function transcript(opts) {
  const thumb = opts['jwk-thumbprint'] ? hex.decode(opts['jwk-thumbprint']) : undefined;
  let st;
  if (opts.form === 'oid4vp') {
    st = await SessionTranscript.forOid4Vp(
      { clientId: opts['client-id'], nonce: opts.nonce, responseUri: opts['response-uri'], jwkThumbprint: thumb }, context);
  } else if (opts.form === 'dcapi') {
    st = await SessionTranscript.forOid4VpDcApi({ origin: opts.origin, nonce: opts.nonce, jwkThumbprint: thumb }, context);
  } else if (opts.form === 'draft18') {
    st = await SessionTranscript.forOid4VpDraft18({
      clientId: opts['client-id'], responseUri: opts['response-uri'], verifierGeneratedNonce: opts.nonce,
      mdocGeneratedNonce: opts['mdoc-nonce'],
    }, context);
  } else {
    throw new Error(`unknown form ${opts.form}`);
  }
  return { transcript: hex.encode(st.encode()) };
}

async function present(opts) {
  const issuerSigned = IssuerSigned.decode(new Uint8Array(readFileSync(opts.in)));
  const docType = issuerSigned.issuerAuth.mobileSecurityObject.docType;
  const namespaces = {};
  for (const [ns, items] of issuerSigned.issuerNamespaces.issuerNamespaces) {
    namespaces[ns] = Object.fromEntries(items.map((item) => [item.elementIdentifier, false]));
  }
  const deviceRequest = DeviceRequest.create({
    docRequests: [DocRequest.create({ itemsRequest: ItemsRequest.create({ docType, namespaces }) })],
  });
  // Without "alg" in the JWK the library writes {1: undefined} as the protected header (no algorithm), which
  // eDL refuses (unsupported_algorithm): a wallet states its algorithm.
  const signingKey = CoseKey.fromJwk({ alg: 'ES256', ...JSON.parse(readFileSync(opts['device-key'], 'utf8')) });
  const response = await DeviceResponse.createWithDeviceRequest({
    deviceRequest,
    sessionTranscript: SessionTranscript.decode(hex.decode(opts.transcript)),
    issuerSigned: [issuerSigned],
    signature: { signingKey },
  }, context);
  const encoded = response.encode();
  writeFileSync(opts.out, encoded);
  return { out: opts.out, bytes: encoded.length, docType };
}

async function verifyResponse(opts) {
  const response = DeviceResponse.decode(new Uint8Array(readFileSync(opts.in)));
  const root = new X509Certificate(readFileSync(opts.trust));
  const checks = [];
  try {
    await response.verify({
      sessionTranscript: SessionTranscript.decode(hex.decode(opts.transcript)),
      trustedCertificates: [new Uint8Array(root.raw)],
      onCheck: (check) => checks.push(check),
    }, context);
  } catch (err) {
    const failed = checks.filter((c) => c.status === 'FAILED').map((c) => ({ category: c.category, check: c.check }));
    return { valid: false, error: String(err?.message ?? err), failed };
  }
  const failed = checks.filter((c) => c.status === 'FAILED');
  return { valid: failed.length === 0, failed, categories: [...new Set(checks.map((c) => c.category))] };
}

const COMMANDS = { transcript, present, verify: verifyResponse };
const [command, ...rest] = process.argv.slice(2);
const { values } = parseArgs({
  args: rest,
  options: Object.fromEntries(['form', 'client-id', 'nonce', 'response-uri', 'origin', 'jwk-thumbprint', 'mdoc-nonce',
    'in', 'out', 'device-key', 'transcript', 'trust'].map((name) => [name, { type: 'string' }])),
});
if (!COMMANDS[command]) {
  process.stderr.write(`unknown command ${command}\n`);
  process.exit(2);
}
try {
  process.stdout.write(`${JSON.stringify(await COMMANDS[command](values))}\n`);
} catch (err) {
  process.stderr.write(`${err?.stack ?? err}\n`);
  process.exit(1);
}

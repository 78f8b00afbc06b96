// An independent OpenID4VCI wallet for eDL's interop test: @openid4vc/openid4vci (OpenWallet Foundation) takes the
// mDL offered by an eDL server, @animo-id/mdoc reads it and device-signs a presentation. Prints one JSON object.
//
//   node wallet.mjs --offer URI --tx-code DIGITS --out DIR --client-id ID --nonce N --response-uri URI
//                   [--mode ok|wrong-nonce|bad-signature|replay-code]
//
// ok            offer → metadata → token → c_nonce → JWT proof (fresh P-256 key, WebCrypto) → credential; checks that
//               the MSO device key is the proof key; writes issued.cbor and response.cbor (a DeviceResponse signed
//               for the OpenID4VP SessionTranscript of client-id / nonce / response-uri, no encryption)
// wrong-nonce   the proof carries a nonce the server never issued          → prints the credential endpoint's error
// bad-signature the proof names one key and is signed by another           → prints the error
// replay-code   takes the token, then presents the same pre-authorized code again → prints the token error
import { webcrypto } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { clientAuthenticationAnonymous } from '@openid4vc/oauth2';
import { Openid4vciClient, setGlobalConfig } from '@openid4vc/openid4vci';
import { CoseKey, DeviceRequest, DeviceResponse, DocRequest, IssuerSigned, ItemsRequest, SessionTranscript } from '@animo-id/mdoc';

const subtle = webcrypto.subtle;
const CONFIGURATION = 'org.iso.18013.5.1.mDL';
const b64u = (bytes) => Buffer.from(bytes).toString('base64url');
const utf8 = (text) => new TextEncoder().encode(text);

const { values: opts } = parseArgs({
  options: {
    offer: { type: 'string' }, 'tx-code': { type: 'string' }, out: { type: 'string' }, mode: { type: 'string', default: 'ok' },
    'client-id': { type: 'string' }, nonce: { type: 'string' }, 'response-uri': { type: 'string' },
  },
});

setGlobalConfig({ allowInsecureUrls: true }); // the test server is http://127.0.0.1:PORT

async function newKey() {
  const pair = await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  const publicJwk = await subtle.exportKey('jwk', pair.publicKey);
  return { pair, publicJwk: { kty: publicJwk.kty, crv: publicJwk.crv, x: publicJwk.x, y: publicJwk.y } };
}

const holder = await newKey();
const impostor = await newKey();

const callbacks = {
  fetch,
  generateRandom: (n) => webcrypto.getRandomValues(new Uint8Array(n)),
  hash: async (data, alg) => new Uint8Array(await subtle.digest(alg.replace('sha-', 'SHA-').toUpperCase(), data)),
  clientAuthentication: clientAuthenticationAnonymous(),
  signJwt: async (signer, { header, payload }) => {
    // WebCrypto's ECDSA signature is r || s (IEEE P1363), which is the JWS form of ES256.
    const input = `${b64u(utf8(JSON.stringify(header)))}.${b64u(utf8(JSON.stringify(payload)))}`;
    const key = opts.mode === 'bad-signature' ? impostor.pair.privateKey : holder.pair.privateKey;
    const signature = await subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, key, utf8(input));
    return { jwt: `${input}.${b64u(new Uint8Array(signature))}`, signerJwk: signer.publicJwk };
  },
};

const client = new Openid4vciClient({ callbacks });
const offer = await client.resolveCredentialOffer(opts.offer);
const issuerMetadata = await client.resolveIssuerMetadata(offer.credential_issuer);
const { accessTokenResponse } = await client.retrievePreAuthorizedCodeAccessTokenFromOffer({
  credentialOffer: offer, issuerMetadata, txCode: opts['tx-code'],
});

function refusal(error) {
  const body = error.response?.body ?? error.errorResponse ?? error.responseText ?? error.credentialErrorResponseResult?.data;
  return { refused: true, kind: error.constructor.name, message: String(error.message), body };
}

if (opts.mode === 'replay-code') {
  try {
    await client.retrievePreAuthorizedCodeAccessTokenFromOffer({ credentialOffer: offer, issuerMetadata, txCode: opts['tx-code'] });
    console.log(JSON.stringify({ refused: false }));
  } catch (error) {
    console.log(JSON.stringify(refusal(error)));
  }
  process.exit(0);
}

const { c_nonce: cNonce } = await client.requestNonce({ issuerMetadata });
const { jwt } = await client.createCredentialRequestJwtProof({
  issuerMetadata,
  credentialConfigurationId: CONFIGURATION,
  signer: { method: 'jwk', alg: 'ES256', publicJwk: holder.publicJwk },
  nonce: opts.mode === 'wrong-nonce' ? `not-from-this-server-${cNonce.length}` : cNonce,
});

let credentialResponse;
try {
  ({ credentialResponse } = await client.retrieveCredentials({
    issuerMetadata, credentialConfigurationId: CONFIGURATION, proofs: { jwt: [jwt] }, accessToken: accessTokenResponse.access_token,
  }));
} catch (error) {
  if (opts.mode === 'ok') throw error;
  console.log(JSON.stringify(refusal(error)));
  process.exit(0);
}
if (opts.mode !== 'ok') {
  console.log(JSON.stringify({ refused: false }));
  process.exit(0);
}

const issuedBytes = new Uint8Array(Buffer.from(credentialResponse.credentials[0].credential, 'base64url'));
const issuerSigned = IssuerSigned.decode(issuedBytes);
const mso = issuerSigned.issuerAuth.mobileSecurityObject;
const deviceJwk = mso.deviceKeyInfo.deviceKey.jwk;
const keyMatches = deviceJwk.x === holder.publicJwk.x && deviceJwk.y === holder.publicJwk.y && deviceJwk.crv === 'P-256';
if (!keyMatches) throw new Error(`the MSO device key ${JSON.stringify(deviceJwk)} is not the proof key`);
writeFileSync(join(opts.out, 'issued.cbor'), issuedBytes);

const context = {
  crypto: {
    random: (n) => webcrypto.getRandomValues(new Uint8Array(n)),
    digest: async ({ digestAlgorithm, bytes }) => new Uint8Array(await subtle.digest(digestAlgorithm, bytes)),
    calculateEphemeralMacKey: () => { throw new Error('deviceMac is not used'); },
  },
  cose: {
    sign1: {
      sign: async ({ toBeSigned }) =>
        new Uint8Array(await subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, holder.pair.privateKey, toBeSigned)),
      verify: () => { throw new Error('not used'); },
    },
    mac0: { sign: () => { throw new Error('not used'); }, verify: () => { throw new Error('not used'); } },
  },
};
const transcript = await SessionTranscript.forOid4Vp(
  { clientId: opts['client-id'], nonce: opts.nonce, responseUri: opts['response-uri'] }, context);
const namespaces = {};
for (const [ns, items] of issuerSigned.issuerNamespaces.issuerNamespaces) {
  namespaces[ns] = Object.fromEntries(items.map((item) => [item.elementIdentifier, false]));
}
const deviceRequest = DeviceRequest.create({
  docRequests: [DocRequest.create({ itemsRequest: ItemsRequest.create({ docType: mso.docType, namespaces }) })],
});
const response = await DeviceResponse.createWithDeviceRequest({
  deviceRequest,
  sessionTranscript: transcript,
  issuerSigned: [issuerSigned],
  signature: { signingKey: CoseKey.fromJwk({ alg: 'ES256', ...holder.publicJwk }) },
}, context);
writeFileSync(join(opts.out, 'response.cbor'), response.encode());
console.log(JSON.stringify({
  refused: false,
  docType: mso.docType,
  keyMatches,
  proofJwk: holder.publicJwk,
  tokenType: accessTokenResponse.token_type,
  metadataVersion: issuerMetadata.originalDraftVersion,
}));

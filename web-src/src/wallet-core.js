/* The driver's app as an OpenID4VP wallet for its own mdoc (issue 15): everything but the page.

   - The holder's device key is a non-extractable ECDSA P-256 key made by WebCrypto (generateKey with
     extractable=false): the page can sign with it, nobody can read it out, and the server only ever sees its
     public JWK. The key pair itself is kept in IndexedDB by wallet-entry.js (structured clone keeps CryptoKeys).
   - present(): the DeviceResponse of ISO/IEC 18013-5 §8.3.2.1.2.2 for one request: the IssuerSigned the server
     signed for this key, cut to the requested elements (each IssuerSignedItemBytes kept byte for byte), and
     deviceSigned with a deviceSignature (COSE_Sign1, ES256, detached payload) over DeviceAuthenticationBytes for
     the OpenID4VP 1.0 SessionTranscript (Appendix B.2.6.1: OpenID4VPHandover = sha256 of the CBOR of
     [client_id, nonce, jwk_thumbprint or null, response_uri]).
   - responseForm(): the direct_post body; for direct_post.jwt the JSON {vp_token, state} as a JWE (ECDH-ES with
     the request's key, A128GCM unless the request names only A256GCM), made by `jose`.
   CBOR is `cbor-x` (no hand-made encoder); maps with integer keys (COSE headers) are JS Maps. */
import { Encoder, Tag } from "cbor-x";
import { CompactEncrypt, calculateJwkThumbprint, importJWK } from "jose";

const cbor = new Encoder({
  mapsAsObjects: false,
  useRecords: false,
  tagUint8Array: false,
  variableMapSize: true,
  pack: false,
  useFloat32: 0,
});

export const MDL_DOCTYPE = "org.iso.18013.5.1.mDL";
const ENCODED_CBOR = 24;
const ES256 = -7;

export function encode(value) {
  return new Uint8Array(cbor.encode(value));
}

export function decode(bytes) {
  return cbor.decode(bytes);
}

export function b64url(bytes) {
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function fromB64url(text) {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new Error("not base64url");
  const padded = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
  const raw = atob(padded);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

/** A new holder device key: ECDSA P-256, the private half not extractable. */
export async function newDeviceKey() {
  return crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
}

export async function publicJwk(keyPair) {
  const jwk = await crypto.subtle.exportKey("jwk", keyPair.publicKey);
  return { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y };
}

/** ECDSA P-256 / SHA-256 over `bytes`; WebCrypto gives r||s (64 bytes), the form COSE and JOSE both use. */
export async function sign(keyPair, bytes) {
  return new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, keyPair.privateKey, bytes));
}

/** The claims of an Unsecured JWT (alg none), as eDL's request objects are; anything else is refused. */
export function readRequestObject(token) {
  const parts = String(token).split(".");
  if (parts.length !== 3 || parts[2] !== "") throw new Error("the request object is not an unsecured JWT");
  const text = (p) => new TextDecoder().decode(fromB64url(p));
  const header = JSON.parse(text(parts[0]));
  if (header.alg !== "none") throw new Error("the request object is signed with an algorithm this app does not check");
  return JSON.parse(text(parts[1]));
}

/** [queryId, [[namespace, element], ...]] of a DCQL query for one mso_mdoc mDL. */
export function requestedElements(dcql) {
  const creds = dcql && dcql.credentials;
  if (!Array.isArray(creds) || creds.length !== 1) throw new Error("the request asks for other than one credential");
  const c = creds[0];
  if (c.format !== "mso_mdoc" || !c.meta || c.meta.doctype_value !== MDL_DOCTYPE) {
    throw new Error("the request does not ask for a driving licence mdoc");
  }
  const elements = c.claims.map((claim) => {
    const p = claim.path;
    if (!Array.isArray(p) || p.length !== 2 || typeof p[0] !== "string" || typeof p[1] !== "string") {
      throw new Error("a claim path is not [namespace, element]");
    }
    return [p[0], p[1]];
  });
  return [c.id, elements];
}

function encryptionKey(request) {
  const meta = request.client_metadata || {};
  const keys = (meta.jwks && meta.jwks.keys) || [];
  return keys.find((k) => k.kty === "EC" && k.crv === "P-256" && (!k.use || k.use === "enc")) || null;
}

/** The SessionTranscript [null, null, ["OpenID4VPHandover", sha256(cbor([client_id, nonce, thumbprint, response_uri]))]]. */
export async function sessionTranscript(request) {
  const jwk = request.response_mode === "direct_post.jwt" ? encryptionKey(request) : null;
  const thumbprint = jwk ? fromB64url(await calculateJwkThumbprint(jwk, "sha256")) : null;
  const info = encode([request.client_id, request.nonce, thumbprint, request.response_uri]);
  return [null, null, ["OpenID4VPHandover", await sha256(info)]];
}

/** The IssuerSigned with only `elements`: every kept IssuerSignedItemBytes and the issuerAuth as they were. */
export function disclose(issuerSigned, elements) {
  const wanted = new Set(elements.map(([ns, name]) => ns + "\u0000" + name));
  const decoded = decode(issuerSigned);
  const namespaces = new Map();
  for (const [ns, items] of decoded.get("nameSpaces") || new Map()) {
    const kept = items.filter((item) => {
      if (!(item instanceof Tag) || item.tag !== ENCODED_CBOR) throw new Error("an IssuerSignedItem is not tag 24");
      return wanted.has(ns + "\u0000" + decode(item.value).get("elementIdentifier"));
    });
    if (kept.length) namespaces.set(ns, kept);
  }
  const out = new Map();
  if (namespaces.size) out.set("nameSpaces", namespaces);
  out.set("issuerAuth", decoded.get("issuerAuth"));
  return out;
}

/** The DeviceResponse (CBOR bytes) of the mdoc `issuerSigned` for `request`, device-signed with `keyPair`. */
export async function present(issuerSigned, keyPair, request, elements) {
  const transcript = await sessionTranscript(request);
  const deviceNamespaces = new Tag(encode(new Map()), ENCODED_CBOR);
  const deviceAuthentication = encode(["DeviceAuthentication", transcript, MDL_DOCTYPE, deviceNamespaces]);
  const payload = encode(new Tag(deviceAuthentication, ENCODED_CBOR));
  const protectedHeader = encode(new Map([[1, ES256]]));
  const toBeSigned = encode(["Signature1", protectedHeader, new Uint8Array(0), payload]);
  const signature = await sign(keyPair, toBeSigned);
  const document = new Map([
    ["docType", MDL_DOCTYPE],
    ["issuerSigned", disclose(issuerSigned, elements)],
    [
      "deviceSigned",
      new Map([
        ["nameSpaces", deviceNamespaces],
        ["deviceAuth", new Map([["deviceSignature", [protectedHeader, new Map(), null, signature]]])],
      ]),
    ],
  ]);
  return encode(new Map([["version", "1.0"], ["documents", [document]], ["status", 0]]));
}

/** The direct_post form fields answering `request` with `deviceResponse` (encrypted for direct_post.jwt). */
export async function responseForm(request, queryId, deviceResponse) {
  const vpToken = { [queryId]: [b64url(deviceResponse)] };
  if (request.response_mode === "direct_post") {
    return { vp_token: JSON.stringify(vpToken), state: request.state };
  }
  if (request.response_mode !== "direct_post.jwt") throw new Error("unsupported response_mode");
  const jwk = encryptionKey(request);
  if (!jwk) throw new Error("the request has no encryption key");
  const offered = (request.client_metadata && request.client_metadata.encrypted_response_enc_values_supported) || [
    "A128GCM",
  ];
  const enc = offered.includes("A128GCM") ? "A128GCM" : offered.includes("A256GCM") ? "A256GCM" : null;
  if (!enc) throw new Error("no content encryption this app supports");
  const header = { alg: "ECDH-ES", enc };
  if (jwk.kid) header.kid = jwk.kid;
  const body = new TextEncoder().encode(JSON.stringify({ vp_token: vpToken, state: request.state }));
  const token = await new CompactEncrypt(body).setProtectedHeader(header).encrypt(await importJWK(jwk, "ECDH-ES"));
  return { response: token };
}

/** The proof that this app holds the key: a signature over the server's challenge (UTF-8). */
export async function proveKey(keyPair, challenge) {
  return b64url(await sign(keyPair, new TextEncoder().encode(challenge)));
}

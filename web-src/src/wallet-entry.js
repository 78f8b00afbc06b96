/* The driver's app presenting its e-licence to an OpenID4VP request (page /app/present; issue 15).

   Defines window.EDLWallet (the functions of wallet-core.js, also what tests call) and, on a page with
   [data-wallet], wires its two buttons:
   - 同意出示 / Present: the holder's device key (made once per account in this browser, non-extractable, kept in
     IndexedDB), the mdoc the server signs for that key (after a signature over a fresh challenge proves the app
     holds it; kept in IndexedDB until it is about to expire), the request object, the device-signed
     DeviceResponse with only the asked elements, posted to the request's response_uri (encrypted when asked).
   - 拒绝 / Decline: posts error=access_denied, so the relying party learns at once.
   The private key never leaves WebCrypto; the server sees the public key, the challenge signature and the
   presentation. */
import * as core from "./wallet-core.js";

const DB_NAME = "edl-wallet";
const STORE = "items";

function database() {
  return new Promise((resolve, reject) => {
    const opening = indexedDB.open(DB_NAME, 1);
    opening.onupgradeneeded = () => opening.result.createObjectStore(STORE);
    opening.onsuccess = () => resolve(opening.result);
    opening.onerror = () => reject(opening.error);
  });
}

async function stored(key) {
  const db = await database();
  return new Promise((resolve, reject) => {
    const req = db.transaction(STORE, "readonly").objectStore(STORE).get(key);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function store(key, value) {
  const db = await database();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, "readwrite");
    tx.objectStore(STORE).put(value, key);
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
  });
}

/** This account's device key in this browser: made on first use, then read back from IndexedDB. */
async function deviceKey(holder) {
  const name = "device-key:" + holder;
  let pair = await stored(name);
  if (!pair || !pair.privateKey || pair.privateKey.extractable) {
    pair = await core.newDeviceKey();
    await store(name, pair);
  }
  return pair;
}

async function json(response) {
  let body = {};
  try {
    body = await response.json();
  } catch (e) {
    body = {};
  }
  if (!response.ok) throw new Error(body.message || body.error_description || body.error || "HTTP " + response.status);
  return body;
}

/** The IssuerSigned bound to `pair`: the one kept (while the e-licence is still bound to this key: the page says
    which key it is bound to now), or a fresh one from the server (proof of the key first). */
async function boundMdoc(root, holder, pair) {
  const jwk = await core.publicJwk(pair);
  const name = "mdoc:" + holder;
  const held = await stored(name);
  const current = held && held.x === jwk.x && held.y === jwk.y;
  const bound = root.dataset.boundKey === jwk.x + "." + jwk.y; // the e-licence is bound to this phone's key now
  if (current && bound && Date.parse(held.validUntil) - Date.now() > 60000) {
    return core.fromB64url(held.issuerSigned);
  }
  const headers = { Accept: "application/json" };
  const challenge = await json(await fetch(root.dataset.challengeUrl, { credentials: "same-origin", headers }));
  const proof = await core.proveKey(pair, challenge.challenge);
  const made = await json(
    await fetch(root.dataset.mdocUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { ...headers, "Content-Type": "application/json", "X-CSRF-Token": root.dataset.csrf },
      body: JSON.stringify({ jwk, challenge: challenge.challenge, proof }),
    }),
  );
  await store(name, { x: jwk.x, y: jwk.y, issuerSigned: made.issuer_signed, validUntil: made.valid_until });
  return core.fromB64url(made.issuer_signed);
}

async function openRequest(root) {
  const response = await fetch(root.dataset.requestUri, { credentials: "omit" });
  if (!response.ok) await json(response);
  const request = core.readRequestObject(await response.text());
  if (request.client_id !== "redirect_uri:" + request.response_uri) throw new Error("client_id mismatch");
  if (new URL(request.response_uri).origin !== window.location.origin) throw new Error("foreign response_uri");
  return request;
}

async function post(uri, fields) {
  return json(
    await fetch(uri, {
      method: "POST",
      credentials: "omit",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
      body: new URLSearchParams(fields),
    }),
  );
}

async function approve(root) {
  const holder = root.dataset.holder;
  const pair = await deviceKey(holder);
  const issuerSigned = await boundMdoc(root, holder, pair);
  const request = await openRequest(root);
  const [queryId, elements] = core.requestedElements(request.dcql_query);
  const deviceResponse = await core.present(issuerSigned, pair, request, elements);
  await post(request.response_uri, await core.responseForm(request, queryId, deviceResponse));
}

async function decline(root) {
  const request = await openRequest(root);
  await post(request.response_uri, { error: "access_denied", state: request.state });
}

function wire(root) {
  const status = root.querySelector("[data-wallet-status]");
  const buttons = root.querySelectorAll("button[data-wallet-action]");
  const say = (text, tone) => {
    status.textContent = text;
    status.className = "alert alert-" + tone;
    status.hidden = false;
  };
  buttons.forEach((button) => {
    button.disabled = false;
    button.addEventListener("click", async () => {
      const action = button.dataset.walletAction;
      buttons.forEach((b) => (b.disabled = true));
      say(root.dataset.msgWorking, "warn");
      try {
        if (action === "approve") {
          await approve(root);
          say(root.dataset.msgDone, "ok");
        } else {
          await decline(root);
          say(root.dataset.msgDeclined, "warn");
        }
        root.dataset.walletState = action === "approve" ? "presented" : "declined";
      } catch (error) {
        say(root.dataset.msgFailed + " " + (error && error.message ? error.message : ""), "block");
        root.dataset.walletState = "failed";
        buttons.forEach((b) => (b.disabled = false));
      }
    });
  });
}

window.EDLWallet = core;
if (typeof document !== "undefined") {
  document.querySelectorAll("[data-wallet]").forEach(wire);
}

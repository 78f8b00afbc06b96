// Runs the committed browser wallet (static/vendor/wallet.min.js) in Node's WebCrypto, driven by
// tests/unit/web/test_wallet_bundle.py over stdin/stdout (one JSON line each way).
import { readFileSync } from "node:fs";
import readline from "node:readline";

globalThis.window = globalThis;
(0, eval)(readFileSync(process.argv[2], "utf8"));
const W = globalThis.EDLWallet;
const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();

const pair = await W.newDeviceKey();
const jwk = await W.publicJwk(pair);
console.log(JSON.stringify({ jwk, extractable: pair.privateKey.extractable, proof: await W.proveKey(pair, "challenge") }));
const { issuer_signed, request_object } = JSON.parse((await lines.next()).value);
const request = W.readRequestObject(request_object);
const [queryId, elements] = W.requestedElements(request.dcql_query);
const deviceResponse = await W.present(W.fromB64url(issuer_signed), pair, request, elements);
const form = await W.responseForm(request, queryId, deviceResponse);
console.log(JSON.stringify({ device_response: W.b64url(deviceResponse), form, query_id: queryId }));
process.exit(0);

// The barcode reader the verifier page (/verify) uses: ZXing-C++ compiled to WebAssembly, from the npm package
// zxing-wasm (its reader-only build), bundled by scripts/build-vendor into src/edl/web/static/vendor/zxing.min.js,
// with the WebAssembly module beside it (vendor/zxing_reader.wasm). It is the same engine the server reads
// uploaded images with (the zxing-cpp Python package), so the camera and the upload read the same codes.
//
// It defines one global, `EDLZXing`:
//
//   EDLZXing.decodeCanvas(canvas) -> Promise<{text, format} | null>  // a QR code or Code 128 in the canvas's pixels
//   EDLZXing.version                                                  // the zxing-wasm version that was bundled
//   EDLZXing.engine                                                   // the ZXing-C++ commit it was compiled from
//
// The .wasm file is fetched from OUR origin only: the script tag names it (data-wasm="/static/vendor/...?v=..."),
// and the package's default (a CDN address) is never used. Compiling it needs CSP 'wasm-unsafe-eval' on the
// verifier page (no JavaScript eval). The module is fetched and compiled on the first decode, not at page load.
import { ZXING_CPP_COMMIT, ZXING_WASM_VERSION, prepareZXingModule, readBarcodes } from "zxing-wasm/reader";

const script = document.currentScript;
const WASM_URL = (script && script.dataset.wasm) || "";

prepareZXingModule({
  overrides: {
    locateFile: (path) => {
      if (!WASM_URL || !path.endsWith(".wasm")) {
        throw new Error("EDLZXing: the page names no reader module (data-wasm)");
      }
      return new URL(WASM_URL, document.baseURI).href;
    },
  },
  fireImmediately: false,
});

const OPTIONS = Object.freeze({
  formats: ["QRCode", "Code128"], // the two codes an e-licence shows
  tryHarder: true,
  tryRotate: true,
  tryInvert: false,
  maxNumberOfSymbols: 1,
});
const FORMATS = { QRCode: "qr", Code128: "code128" };

async function decodeCanvas(canvas) {
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  const pixels = ctx.getImageData(0, 0, canvas.width, canvas.height);
  const results = await readBarcodes(pixels, OPTIONS);
  for (const found of results) {
    const format = FORMATS[found.format];
    if (found.isValid && format && found.text) {
      return { text: found.text, format };
    }
  }
  return null;
}

globalThis.EDLZXing = Object.freeze({ decodeCanvas, version: ZXING_WASM_VERSION, engine: ZXING_CPP_COMMIT });

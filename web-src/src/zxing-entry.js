// The barcode reader the verifier page (/verify) uses, bundled from the npm package @zxing/library into ONE file,
// src/edl/web/static/vendor/zxing.min.js, by scripts/build-vendor. It defines one global, `EDLZXing`:
//
//   EDLZXing.decodeCanvas(canvas) -> {text, format} | null   // QR code or Code 128 in the canvas's current pixels
//   EDLZXing.version                                          // the @zxing/library version that was bundled
//
// Only the QR and Code 128 readers are asked for (the two codes an e-licence shows), so a frame is cheap to try.
// Deep imports of the two readers only: the package's index pulls in every format and the writers (400 KB+).
import BinaryBitmap from "@zxing/library/esm/core/BinaryBitmap";
import DecodeHintType from "@zxing/library/esm/core/DecodeHintType";
import HybridBinarizer from "@zxing/library/esm/core/common/HybridBinarizer";
import Code128Reader from "@zxing/library/esm/core/oned/Code128Reader";
import QRCodeReader from "@zxing/library/esm/core/qrcode/QRCodeReader";
import { HTMLCanvasElementLuminanceSource } from "@zxing/library/esm/browser/HTMLCanvasElementLuminanceSource";
import pkg from "@zxing/library/package.json";

const HINTS = new Map([[DecodeHintType.TRY_HARDER, true]]);
const READERS = [
  ["qr", new QRCodeReader()],
  ["code128", new Code128Reader()],
];

function decodeCanvas(canvas) {
  const bitmap = new BinaryBitmap(new HybridBinarizer(new HTMLCanvasElementLuminanceSource(canvas)));
  for (const [format, reader] of READERS) {
    try {
      return { text: reader.decode(bitmap, HINTS).getText(), format };
    } catch (err) {
      // NotFound / Checksum / Format: not this code in this frame; try the next reader, then the next frame.
    } finally {
      reader.reset();
    }
  }
  return null;
}

globalThis.EDLZXing = Object.freeze({ decodeCanvas, version: pkg.version });

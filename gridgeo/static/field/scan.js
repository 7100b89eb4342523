// The camera and the QR decoder: the browser's BarcodeDetector where it exists, ZXing
// (vendored UMD build, window.ZXing) where it does not (Chromium on Linux, Firefox).
let stream = null;

export async function startCamera(video) {
  stream ??= await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' },
                                                           audio: false });
  video.srcObject = stream;
  await video.play();
}

export function stopCamera(video) {
  stream?.getTracks().forEach((track) => track.stop());
  stream = null;
  video.srcObject = null;
}

function frame(video, canvas) {
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  canvas.getContext('2d', { willReadFrequently: true }).drawImage(video, 0, 0);
  return canvas;
}

// ZXing tried two ways: the hybrid (local-block) binarizer copes with uneven light; the
// global-histogram one reads some turned, blurred plates the hybrid one loses. TRY_HARDER scans every row for finder patterns instead of skipping;
// PURE_BARCODE stays off because a camera frame is never just the code.
function zxingDecode(canvas) {
  const ZXing = window.ZXing;
  const hints = new Map([[ZXing.DecodeHintType.TRY_HARDER, true],
                         [ZXing.DecodeHintType.POSSIBLE_FORMATS, [ZXing.BarcodeFormat.QR_CODE]]]);
  const source = new ZXing.HTMLCanvasElementLuminanceSource(canvas);
  for (const Binarizer of [ZXing.HybridBinarizer, ZXing.GlobalHistogramBinarizer]) {
    try {
      return new ZXing.QRCodeReader().decode(new ZXing.BinaryBitmap(new Binarizer(source)),
                                             hints).getText();
    } catch {
      // no code found this way in this frame: try the next binarizer
    }
  }
  return null;
}

async function decode(canvas) {
  if ('BarcodeDetector' in window) {
    const codes = await new window.BarcodeDetector({ formats: ['qr_code'] }).detect(canvas);
    return codes[0]?.rawValue ?? null;
  }
  return zxingDecode(canvas);
}

// Resolves with the first QR text the camera sees (frames every 200 ms), or null if stopped.
export async function readQr(video, canvas, stillScanning) {
  while (stillScanning()) {
    if (video.videoWidth > 0) {
      const text = await decode(frame(video, canvas));
      if (text) return text;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return null;
}

// A still photo from the camera as a JPEG blob.
export function takePhoto(video, canvas) {
  return new Promise((resolve) => frame(video, canvas).toBlob(resolve, 'image/jpeg', 0.85));
}

// What a gridgeo QR link points at: {collection, code}, or null for another code.
const LETTERS = { a: 'addresses', g: 'greenhouses', k: 'mine_tunnels' };
export function target(text) {
  const match = /\/q\/([agk])\/([0-9A-Za-z]{1,40})\/?$/.exec(text.split(/[?#]/)[0]);
  return match ? { collection: LETTERS[match[1]], code: match[2] } : null;
}

export const RESULTS = {
  addresses: ['ok', 'problem'],
  greenhouses: ['in_use', 'idle', 'abandoned', 'suspected_conversion', 'converted_to_housing'],
  mine_tunnels: ['sealed', 'suspected_reopened', 'reopened'],
};

// Proof of work for the public report (GET /public/challenge): find the smallest decimal nonce such
// that sha256(token + ":" + nonce) starts with `bits` zero bits. Runs off the page's thread.
// Message in: {token, bits}; out: {nonce} or {error}.
const BATCH = 512;

function leadingZeroBits(bytes) {
  let bits = 0;
  for (const byte of bytes) {
    if (byte === 0) {
      bits += 8;
      continue;
    }
    return bits + Math.clz32(byte) - 24;
  }
  return bits;
}

self.onmessage = async (event) => {
  const { token, bits } = event.data;
  try {
    const encoder = new TextEncoder();
    for (let start = 0; ; start += BATCH) {
      const digests = await Promise.all(
        Array.from({ length: BATCH }, (_, i) =>
          crypto.subtle.digest("SHA-256", encoder.encode(`${token}:${start + i}`)),
        ),
      );
      for (let i = 0; i < BATCH; i++) {
        if (leadingZeroBits(new Uint8Array(digests[i])) >= bits) {
          self.postMessage({ nonce: String(start + i) });
          return;
        }
      }
    }
  } catch (error) {
    self.postMessage({ error: String(error) });
  }
};

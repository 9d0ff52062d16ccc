/**
 * Request bodies with Content-Encoding, streamed and capped: the size limit applies after
 * decompression, so a small compressed bomb is stopped at the limit, not after inflating.
 */
import { Buffer } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import { createBrotliDecompress, createGunzip, createInflate, createZstdDecompress, type Gunzip } from 'node:zlib';

export class BodyError extends Error {
  constructor(
    readonly status: 400 | 413 | 415,
    message: string,
  ) {
    super(message);
  }
}

const DECODERS: Record<string, () => Gunzip> = {
  gzip: createGunzip,
  'x-gzip': createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress as unknown as () => Gunzip,
  zstd: createZstdDecompress as unknown as () => Gunzip,
};

const SUPPORTED_ENCODINGS = ['identity', ...Object.keys(DECODERS)];

export async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  const declared = Number(req.headers['content-length']);
  if (encoding === 'identity' || encoding === '') {
    if (declared > maxBytes) throw new BodyError(413, `body larger than ${maxBytes} bytes`);
    return collect(req, maxBytes, `body larger than ${maxBytes} bytes`);
  }
  const makeDecoder = DECODERS[encoding];
  if (!makeDecoder)
    throw new BodyError(
      415,
      `Content-Encoding "${encoding}" is not supported (use one of ${SUPPORTED_ENCODINGS.join(', ')})`,
    );
  if (declared > maxBytes) throw new BodyError(413, `compressed body larger than ${maxBytes} bytes`);
  if (encoding === 'zstd') return readZstd(req, maxBytes);
  const decoder = makeDecoder();
  req.on('error', (error) => decoder.destroy(error));
  let compressed = 0;
  req.on('data', (chunk: Buffer) => {
    compressed += chunk.length;
    if (compressed > maxBytes) decoder.destroy(new BodyError(413, `compressed body larger than ${maxBytes} bytes`));
  });
  req.pipe(decoder);
  try {
    return await collect(decoder, maxBytes, `body larger than ${maxBytes} bytes after decompression`);
  } catch (error) {
    if (error instanceof BodyError) throw error;
    throw new BodyError(400, `body is not valid ${encoding}: ${(error as Error).message}`);
  } finally {
    req.unpipe(decoder);
    decoder.destroy();
  }
}

/**
 * zstd bodies may hold several frames (a compressor writing in parts, or concatenated payloads);
 * Node's decompressor stops at the end of the first, so each frame gets its own, in turn.
 */
async function readZstd(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const compressed = await collect(req, maxBytes, `compressed body larger than ${maxBytes} bytes`);
  const parts: Buffer[] = [];
  let size = 0;
  for (let at = 0; at < compressed.length; ) {
    const decoder = createZstdDecompress();
    decoder.end(compressed.subarray(at));
    let part: Buffer;
    try {
      part = await collect(decoder, maxBytes - size, `body larger than ${maxBytes} bytes after decompression`);
    } catch (error) {
      if (error instanceof BodyError) throw error;
      throw new BodyError(400, `body is not valid zstd at byte ${at}: ${(error as Error).message}`);
    }
    // bytesWritten counts the input the frame consumed.
    if (decoder.bytesWritten === 0) throw new BodyError(400, `body is not valid zstd at byte ${at}`);
    at += decoder.bytesWritten;
    size += part.length;
    parts.push(part);
  }
  return Buffer.concat(parts, size);
}

async function collect(
  stream: AsyncIterable<unknown> & { destroy?(error?: Error): void },
  maxBytes: number,
  tooLarge: string,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      const error = new BodyError(413, tooLarge);
      stream.destroy?.(error);
      throw error;
    }
    chunks.push(chunk as Buffer);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
}

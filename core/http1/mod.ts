// The HTTP/1.1 codec: streaming parsers, serializer, header helpers.

export { RequestParser, ResponseParser } from "./parser.ts";
export {
  CRLF,
  encodeChunkHeader,
  encodeLastChunk,
  encodeRequestHead,
  encodeResponseHead,
} from "./serialize.ts";
export { encodeLatin1, getHeader, getHeaderAll, stripHopByHop } from "./headers.ts";
export { Http1Error } from "./types.ts";
export type {
  BodyKind,
  HeaderList,
  Http1ErrorCode,
  ParserHandlers,
  ParserLimits,
  RequestHead,
  ResponseHead,
} from "./types.ts";

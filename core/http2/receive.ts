// What the peer sends, frame by frame (RFC 9113 §5.1 states, §6 frames, §8 messages), on top of the stream table.

import { concatBytes } from "../bytes.ts";
import { ErrorCode, Flag, FrameType, SettingId } from "./frames/constants.ts";
import type { FieldBlockType } from "./frames/reader.ts";
import type {
  DataFrame,
  Frame,
  GoawayFrame,
  Http2Error,
  PingFrame,
  RstStreamFrame,
  SettingsFrame,
  WindowUpdateFrame,
} from "./frames/types.ts";
import { encodePing, encodeWindowUpdate, SETTINGS_ACK } from "./frames/writer.ts";
import { CLOSED_BY_PEER, CLOSED_BY_US } from "./core.ts";
import { bodiless, checkRequest, checkResponse, checkTrailers } from "./message-checks.ts";
import { applySetting } from "./settings.ts";
import { Http2Stream } from "./stream.ts";
import { StreamTable, TOO_LARGE } from "./stream-table.ts";

export abstract class FrameReceiver extends StreamTable {
  // The field block being collected (HEADERS without END_HEADERS, then CONTINUATION).
  private blockStream = 0;
  private blockEnd = false;
  private blockParts: Uint8Array[] = [];
  private blockBytes = 0;
  private blockFrames = 0;

  /** Our keepalive PING was answered. */
  protected abstract keepaliveAcked(): void;

  protected onFrame(f: Frame): void {
    switch (f.type) {
      case FrameType.DATA:
        this.onData(f);
        return;
      case FrameType.HEADERS: {
        // Not reached: field block frames come to onFieldFragment (FrameHandler.fieldBlock).
        const flags = (f.endStream ? Flag.END_STREAM : 0) | (f.endHeaders ? Flag.END_HEADERS : 0);
        this.onFieldFragment(f.type, f.streamId, flags, f.fragment, 0, f.fragment.length);
        return;
      }
      case FrameType.PRIORITY:
        return; // PRIORITY: deprecated signal, ignored (§5.3.2)
      case FrameType.RST_STREAM:
        this.onRstStream(f);
        return;
      case FrameType.SETTINGS:
        this.onSettings(f);
        return;
      case FrameType.PUSH_PROMISE:
        this.connError(ErrorCode.PROTOCOL_ERROR, this.server ? "PUSH_PROMISE from a client" : "PUSH_PROMISE although push is disabled"); // §8.4
        return;
      case FrameType.PING:
        this.onPing(f);
        return;
      case FrameType.GOAWAY:
        this.onGoaway(f);
        return;
      case FrameType.WINDOW_UPDATE:
        this.onWindowUpdate(f);
        return;
      case FrameType.CONTINUATION:
        this.onFieldFragment(f.type, f.streamId, f.endHeaders ? Flag.END_HEADERS : 0, f.fragment, 0, f.fragment.length);
        return;
    }
    // Unknown frame types are ignored (§5.5).
  }

  protected onFrameError(e: Http2Error): void {
    if (e.streamId === 0) this.connError(e.code, e.message);
    else this.streamErrorId(e.streamId, e.code);
  }

  private onData(f: DataFrame): void {
    const id = f.streamId;
    // Every DATA frame counts against the connection window, whatever its stream (§6.9).
    if (!this.connInbound.receive(f.flowLength)) {
      this.connError(ErrorCode.FLOW_CONTROL_ERROR, "DATA beyond the connection flow-control window");
      return;
    }
    this.creditConnection(f.flowLength);
    const s = this.streams.get(id);
    if (s === undefined) {
      const reason = this.closedIds.get(id);
      if (reason === undefined && this.isIdle(id)) this.connError(ErrorCode.PROTOCOL_ERROR, `DATA on idle stream ${id}`); // §5.1
      else if (reason === CLOSED_BY_US) return; // in flight when we reset it (§5.1)
      else if (reason === CLOSED_BY_PEER || reason === undefined) this.streamErrorId(id, ErrorCode.STREAM_CLOSED);
      else this.connError(ErrorCode.STREAM_CLOSED, `DATA on stream ${id} after END_STREAM`); // §5.1 closed
      return;
    }
    if (s.remoteEnded) {
      this.streamError(s, ErrorCode.STREAM_CLOSED); // §5.1 half-closed (remote)
      return;
    }
    if (!s.remote && !s.headReceived) {
      this.streamError(s, ErrorCode.PROTOCOL_ERROR); // DATA before the response HEADERS (§8.1)
      return;
    }
    if (!s.inbound.receive(f.flowLength)) {
      this.streamError(s, ErrorCode.FLOW_CONTROL_ERROR);
      return;
    }
    const data = f.data;
    s.receivedLength += data.length;
    if ((s.bodiless && data.length > 0) || (s.expectedLength >= 0 && s.receivedLength > s.expectedLength)) {
      this.streamError(s, ErrorCode.PROTOCOL_ERROR); // content-length mismatch (§8.1.1)
      return;
    }
    if (f.flowLength > data.length) this.consumed(s, f.flowLength - data.length); // padding is never delivered
    if (data.length > 0) this.deliverData(s, data);
    if (f.endStream && !s.aborted) this.remoteEnd(s, null);
  }

  /**
   * A HEADERS or CONTINUATION frame's fragment, b[start, end) (the reader guarantees CONTINUATION follows its
   * HEADERS on the same stream, §6.10). A block in one frame is decoded where it lies; one spread over several is
   * joined first.
   */
  protected onFieldFragment(type: FieldBlockType, id: number, flags: number, b: Uint8Array, start: number, end: number): void {
    const endHeaders = (flags & Flag.END_HEADERS) !== 0;
    if (type === FrameType.HEADERS) {
      const endStream = (flags & Flag.END_STREAM) !== 0;
      if (endHeaders) {
        this.onFieldBlock(id, b, start, end, endStream);
        return;
      }
      this.blockStream = id;
      this.blockEnd = endStream;
      this.blockParts = [b.subarray(start, end)];
      this.blockBytes = end - start;
      this.blockFrames = 1;
      this.checkBlock();
      return;
    }
    this.blockParts.push(b.subarray(start, end));
    this.blockBytes += end - start;
    this.blockFrames++;
    if (!this.checkBlock() || !endHeaders) return;
    const block = concatBytes(this.blockParts);
    this.blockParts = [];
    this.onFieldBlock(this.blockStream, block, 0, block.length, this.blockEnd);
  }

  /** CONTINUATION flood defence: false after closing the connection. */
  private checkBlock(): boolean {
    const maxBytes = this.local.maxHeaderListSize + this.limits.headerBlockSlackBytes;
    if (this.blockFrames <= this.limits.maxHeaderBlockFrames && this.blockBytes <= maxBytes) return true;
    this.blockParts = [];
    this.flood(`field block over ${this.limits.maxHeaderBlockFrames} frames or ${maxBytes} octets`);
    return false;
  }

  /** A complete field block (HEADERS + CONTINUATION), block[start, end). */
  private onFieldBlock(id: number, block: Uint8Array, start: number, end: number, endStream: boolean): void {
    const s = this.streams.get(id);
    if (s !== undefined) {
      this.onStreamFields(s, block, start, end, endStream);
      return;
    }
    const reason = this.closedIds.get(id);
    if (reason === undefined && this.isIdle(id)) {
      if (this.server && this.isPeerId(id)) this.openPeerStream(id, block, start, end, endStream);
      else this.connError(ErrorCode.PROTOCOL_ERROR, this.server ? `HEADERS on even stream ${id}` : `HEADERS on stream ${id}, which we did not open`); // §5.1.1, §8.4
      return;
    }
    // A closed stream: the block still goes through the decoder to keep its table in step (§4.3).
    if (this.decodeBlock(block, start, end) === null) return;
    if (reason === CLOSED_BY_US) {
      if (this.isPeerId(id) && id > this.lastPeerStreamId) this.lastPeerStreamId = id;
    } else if (reason === CLOSED_BY_PEER) {
      this.streamErrorId(id, ErrorCode.STREAM_CLOSED); // §5.1 closed, after RST_STREAM
    } else if (reason === undefined) {
      this.connError(ErrorCode.PROTOCOL_ERROR, `HEADERS on stream ${id}, below the last stream opened`); // §5.1.1
    } else {
      this.connError(ErrorCode.STREAM_CLOSED, `HEADERS on stream ${id} after END_STREAM`); // §5.1 closed
    }
  }

  /** Server: HEADERS on a new stream id. */
  private openPeerStream(id: number, block: Uint8Array, start: number, end: number, endStream: boolean): void {
    this.lastPeerStreamId = id; // lower idle ids are now closed (§5.1.1)
    const fields = this.decodeBlock(block, start, end);
    if (fields === null) return;
    if (this.goawaySent && id > this.goawayLastId) {
      this.refuse(id, false);
      return;
    }
    if (this.remoteActive >= this.local.maxConcurrentStreams) {
      this.refuse(id, true); // §5.1.2
      return;
    }
    if (fields === TOO_LARGE) {
      this.answer431(id, endStream);
      return;
    }
    const head = checkRequest(fields, this.decoder, endStream, this.local.enableConnectProtocol);
    if (typeof head === "string") {
      this.streamErrorId(id, ErrorCode.PROTOCOL_ERROR);
      return;
    }
    const s = new Http2Stream(this, id, true, this.peer.initialWindowSize, this.streamRecvWindow());
    s.expectedLength = head.contentLength;
    s.remoteEnded = endStream;
    this.streams.set(id, s);
    this.remoteActive++;
    this.h.stream?.(s, head);
    if (s.aborted || this.isClosed) return;
    if (s.handlers === null && !s.resetAfterEnd) {
      this.resetStream(s, ErrorCode.REFUSED_STREAM, false); // setHandlers() was not called
      return;
    }
    if (endStream) this.deliverEnd(s, null);
  }

  /** HEADERS on an open stream: the client's response head (or a 1xx), or trailers. */
  private onStreamFields(s: Http2Stream, block: Uint8Array, start: number, end: number, endStream: boolean): void {
    const fields = this.decodeBlock(block, start, end);
    if (fields === null) return;
    if (s.remoteEnded) {
      this.streamError(s, ErrorCode.STREAM_CLOSED); // §5.1 half-closed (remote)
      return;
    }
    if (fields === TOO_LARGE || this.server || s.headReceived) {
      if (fields === TOO_LARGE || checkTrailers(fields, this.decoder, endStream) !== null) {
        this.streamError(s, ErrorCode.PROTOCOL_ERROR);
        return;
      }
      this.remoteEnd(s, fields);
      return;
    }
    const r = checkResponse(fields, this.decoder, endStream, s.headRequest);
    if (typeof r === "string") {
      this.streamError(s, ErrorCode.PROTOCOL_ERROR);
      return;
    }
    if (r.status < 200) {
      s.handlers?.informational?.(r.status, r.headers);
      return;
    }
    s.headReceived = true;
    s.bodiless = bodiless(s.headRequest, r.status);
    s.expectedLength = s.bodiless ? -1 : r.contentLength;
    s.handlers?.head?.(r);
    if (endStream && !s.aborted) this.remoteEnd(s, null);
  }

  private onRstStream(f: RstStreamFrame): void {
    const id = f.streamId;
    const s = this.streams.get(id);
    if (s === undefined) {
      if (!this.closedIds.has(id) && this.isIdle(id)) this.connError(ErrorCode.PROTOCOL_ERROR, `RST_STREAM on idle stream ${id}`); // §5.1
      return;
    }
    const premature = s.remote && !s.localEnded;
    this.abortStream(s, CLOSED_BY_PEER);
    s.handlers?.reset(f.errorCode, true);
    if (premature) this.takeReset();
  }

  private onSettings(f: SettingsFrame): void {
    if (f.ack) {
      this.onSettingsAck();
      return;
    }
    if (!this.acks.take(this.clock.now())) {
      this.flood("SETTINGS flood");
      return;
    }
    for (const [id, v] of f.settings) {
      switch (id) {
        case SettingId.INITIAL_WINDOW_SIZE: {
          const delta = v - this.peer.initialWindowSize;
          if (delta === 0) break;
          for (const s of this.streams.values()) {
            if (!this.sched.growStream(s, delta)) {
              this.connError(ErrorCode.FLOW_CONTROL_ERROR, "SETTINGS_INITIAL_WINDOW_SIZE pushes a stream window past 2^31-1"); // §6.9.2
              return;
            }
          }
          this.flushDue = true;
          break;
        }
        case SettingId.HEADER_TABLE_SIZE:
          this.encoder.setMaxTableSize(v);
          break;
        case SettingId.MAX_CONCURRENT_STREAMS:
          if (v > this.peerMaxConcurrentStreams) this.capacityDue = true;
          break;
        case SettingId.ENABLE_PUSH:
          if (!this.server && v === 1) {
            this.connError(ErrorCode.PROTOCOL_ERROR, "a server set SETTINGS_ENABLE_PUSH to 1"); // §6.5.2
            return;
          }
          break;
      }
      applySetting(this.peer, id, v);
    }
    if (!this.peerSettingsSeen) {
      this.peerSettingsSeen = true;
      this.capacityDue = true;
    }
    this.sendControl(SETTINGS_ACK);
  }

  /** Our SETTINGS took effect at the peer: apply what depended on it. */
  private onSettingsAck(): void {
    if (this.localAcked) return;
    this.localAcked = true;
    this.settingsTimer?.();
    this.settingsTimer = null;
    this.decoder.setMaxTableSize(this.local.headerTableSize);
    for (const s of this.streams.values()) {
      const inc = s.inbound.resize(this.local.initialWindowSize);
      if (inc > 0 && !s.remoteEnded) this.sendControl(encodeWindowUpdate(s.id, inc));
    }
  }

  private onPing(f: PingFrame): void {
    if (f.ack) {
      if (this.pings.ack(f.data, this.clock.now()) === "keepalive") this.keepaliveAcked();
      return;
    }
    if (!this.acks.take(this.clock.now())) {
      this.flood("PING flood");
      return;
    }
    this.sendControl(encodePing(f.data, true));
  }

  private onGoaway(f: GoawayFrame): void {
    this.goawayReceived = true;
    if (f.errorCode !== ErrorCode.NO_ERROR) this.peerGoawayCode = f.errorCode;
    // Streams we opened above lastStreamId were not processed: safe to retry elsewhere (§6.8). Whatever still
    // comes for them is ignored, as after our own RST_STREAM.
    for (const s of [...this.streams.values()]) {
      if (!s.remote && s.id > f.lastStreamId && !s.closed) {
        this.abortStream(s, CLOSED_BY_US);
        s.handlers?.reset(ErrorCode.REFUSED_STREAM, true);
      }
    }
    if (this.isClosed) return;
    this.h.goaway?.(f.lastStreamId, f.errorCode, f.debug);
    this.scheduleTurnEnd();
  }

  private onWindowUpdate(f: WindowUpdateFrame): void {
    const id = f.streamId;
    if (id === 0) {
      if (!this.sched.growConnection(f.increment)) {
        this.connError(ErrorCode.FLOW_CONTROL_ERROR, "connection window past 2^31-1"); // §6.9.1
        return;
      }
      this.flushDue = true;
      return;
    }
    const s = this.streams.get(id);
    if (s === undefined) {
      if (!this.closedIds.has(id) && this.isIdle(id)) this.connError(ErrorCode.PROTOCOL_ERROR, `WINDOW_UPDATE on idle stream ${id}`); // §5.1
      return;
    }
    if (!this.sched.growStream(s, f.increment)) {
      this.streamError(s, ErrorCode.FLOW_CONTROL_ERROR); // §6.9.1
      return;
    }
    this.flushDue = true;
  }
}

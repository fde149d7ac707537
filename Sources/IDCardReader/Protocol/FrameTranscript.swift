import KioskCore

/// Decodes a transcript of response frames (find, select, read, in any mix) into the card.
public enum FrameTranscript {
    /// Why a transcript yields no card; `description` is the one line a tool prints.
    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        public let description: String
    }

    /// Decodes hex text (whitespace ignored): every frame must be valid and succeed, and one of
    /// them must be a read response.
    public static func decodeCard(hex text: String) throws(Failure) -> CardIdentity {
        guard var bytes = parseHex(text) else {
            throw Failure(description: "input is not hex: expected pairs of 0-9 A-F, whitespace ignored")
        }
        defer { wipeBytes(&bytes) }
        return try decodeCard(bytes: bytes)
    }

    /// Decodes raw response bytes.
    public static func decodeCard(bytes: [UInt8]) throws(Failure) -> CardIdentity {
        guard !bytes.isEmpty else { throw Failure(description: "no input: paste the reader's response frames as hex") }
        var decoder = SAMFrameDecoder()
        decoder.append(bytes)
        defer { decoder.reset() }
        var card: CardIdentity?
        var frames = 0
        while true {
            let response: SAMResponse?
            do { response = try decoder.nextResponse() } catch {
                throw Failure(description: "frame \(frames + 1): \(error)")
            }
            guard var response else { break }
            frames += 1
            guard response.status.isSuccess else {
                throw Failure(description: "frame \(frames): reader status \(response.status)")
            }
            if response.data.count >= 4 + CardText.blockSize {
                do { card = try CardText.decodeRead(data: response.data).identity } catch {
                    throw Failure(description: "frame \(frames): \(error)")
                }
            }
            wipeBytes(&response.data)
        }
        if decoder.bufferedCount > 0 {
            let needed = decoder.bytesNeeded.map { decoder.bufferedCount + $0 }
            throw Failure(description: "frame \(frames + 1): " + (needed.map {
                FrameError.truncated(expected: $0, received: decoder.bufferedCount).description
            } ?? "truncated frame: \(decoder.bufferedCount) bytes that do not complete a header"))
        }
        if frames == 0 {
            throw Failure(description: "no SAM_V frame found: frames start with AA AA AA 96 69")
        }
        guard let card else {
            throw Failure(description: "no read response among \(frames) frame(s): include the 30 01 or 30 10 answer")
        }
        return card
    }
}

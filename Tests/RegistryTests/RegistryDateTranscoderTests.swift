import Foundation
@testable import Registry
import Testing

/// The generated client's dates read and write exactly as `RegistryJSON` does on both ends.
@Suite struct RegistryDateTranscoderTests {
    struct Stamp: Codable { let at: Date }

    @Test func datesAreWrittenAsRegistryJSONWritesThem() throws {
        let transcoder = RegistryDateTranscoder()
        for seconds in [0, 1_790_000_000, 1_790_000_000.75, -86_400 * 365.25 * 30, 4_102_444_800] as [Double] {
            let date = Date(timeIntervalSince1970: seconds)
            let json = String(decoding: try RegistryJSON.encoder().encode(Stamp(at: date)), as: UTF8.self)
            #expect(json == #"{"at":""# + (try transcoder.encode(date)) + #""}"#, "\(seconds)")
        }
        #expect(try transcoder.encode(Date(timeIntervalSince1970: 1_790_000_000)) == "2026-09-21T14:13:20Z")
    }

    @Test func datesAreReadAsRegistryJSONReadsThemAndNonsenseIsRefused() throws {
        let transcoder = RegistryDateTranscoder()
        for text in ["2026-09-21T14:13:20Z", "1970-01-01T00:00:00Z", "2026-09-21T22:13:20+08:00"] {
            let expected = try RegistryJSON.decoder().decode(Stamp.self, from: Data(#"{"at":"\#(text)"}"#.utf8)).at
            #expect(try transcoder.decode(text) == expected, "\(text)")
        }
        struct Text: Codable { let at: String }
        for text in ["", "2026-09-21", "yesterday", "2026-13-01T00:00:00Z", "2026-09-21T14:13:20Z\u{0}", String(repeating: "9", count: 10_000)] {
            let json = try RegistryJSON.encoder().encode(Text(at: text))
            #expect((try? transcoder.decode(text)) == (try? RegistryJSON.decoder().decode(Stamp.self, from: json).at), "\(text.prefix(40))")
        }
        for text in ["", "2026-09-21", "yesterday", "2026-13-01T00:00:00Z", String(repeating: "9", count: 10_000)] {
            #expect(throws: (any Error).self, "\(text.prefix(40))") { try transcoder.decode(text) }
        }
    }
}

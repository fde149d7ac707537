import Foundation
import KioskAPI
import Testing

/// Events on the wire: one object whose `type` names the event, its values beside it.
@Suite struct KioskEventWireTests {
    static let all: [KioskEvent] = [
        .cardReading, .sessionStarted(CardHolderView(cardType: "resident", maskedName: "张*", maskedIdNumber: "441900********1234")),
        .cardUnreadable(reason: "card.unreadable"), .cardRemoved, .sessionWarning(secondsLeft: 15), .sessionEnded(reason: .timeout),
        .readerPresent(false), .printProgress(state: "printing"), .maintenance(on: true, reason: "更换打印纸"), .maintenance(on: false, reason: nil),
        .configurationChanged,
    ]

    @Test func everyEventRoundTripsWithItsType() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        for event in Self.all {
            let data = try encoder.encode(event)
            let text = String(decoding: data, as: UTF8.self)
            #expect(text.contains(#""type":"\#(event.type)""#) && !text.contains("_0"), "\(text)")
            #expect(try JSONDecoder().decode(KioskEvent.self, from: data) == event)
        }
        #expect(String(decoding: try encoder.encode(KioskEvent.readerPresent(false)), as: UTF8.self) == #"{"present":false,"type":"readerPresent"}"#)
    }

    @Test func unknownOrIncompleteEventsAreErrors() {
        for bad in [#"{"type":"launchMissiles"}"#, #"{"type":"sessionEnded","reason":"bored"}"#, #"{"type":"sessionStarted"}"#, #"{"readerPresent":{"_0":true}}"#, #"{"type":7}"#, "[]"] {
            #expect(throws: DecodingError.self, "\(bad)") { try JSONDecoder().decode(KioskEvent.self, from: Data(bad.utf8)) }
        }
    }
}

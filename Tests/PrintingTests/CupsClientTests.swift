import Printing
import Testing

@Suite struct CupsClientTests {
    @Test("document names never carry a space or anything but safe ASCII", arguments: [
        ("test page", "test-page"),
        ("business-licence", "business-licence"),
        ("营业执照 演示市", "document.pdf"),
        ("archive extract 2026.pdf", "archive-extract-2026.pdf"),
        ("", "document.pdf"),
    ])
    func documentName(title: String, expected: String) {
        #expect(CupsClient.documentName(title) == expected)
    }

    @Test func longTitlesAreCut() {
        #expect(CupsClient.documentName(String(repeating: "a", count: 300)).count == 64)
    }
}

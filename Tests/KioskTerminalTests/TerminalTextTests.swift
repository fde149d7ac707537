import TestSupport
import Testing
@testable import KioskTerminal

@Suite struct DisplayWidthTests {
    @Test(arguments: [("a", 1), ("汉", 2), ("，", 2), ("Ａ", 2), ("é", 1), ("e\u{301}", 1), ("한", 2), ("😀", 2), ("\u{200B}", 0)])
    func characterWidths(text: String, width: Int) {
        #expect(DisplayWidth.of(text) == width)
    }

    @Test func mixedString() {
        #expect(DisplayWidth.of("请按 Enter 确认") == 2 * 2 + 1 + 5 + 1 + 2 * 2)
    }
}

@Suite struct TextLayoutTests {
    @Test func chineseWrapsAtColumnWidthNotCharacterCount() {
        let lines = TextLayout.wrap("请将身份证放在读卡区，然后按确认键继续办理业务", width: 10)
        for line in lines { #expect(DisplayWidth.of(line) <= 10) }
        #expect(lines.joined() == "请将身份证放在读卡区，然后按确认键继续办理业务")
    }

    @Test func punctuationNeverStartsALine() {
        // 读卡区 fills the 10 columns exactly; the comma must not start the next line.
        let lines = TextLayout.wrap("请放身份证读卡区，然后确认", width: 16)
        for line in lines.dropFirst() { #expect(!"，。、；：？！".contains(line.first ?? "x")) }
        #expect(lines.joined() == "请放身份证读卡区，然后确认")
    }

    @Test func latinWrapsAtSpacesAndSplitsLongWords() {
        #expect(TextLayout.wrap("Please place your ID card", width: 12) == ["Please place", "your ID card"])
        #expect(TextLayout.wrap("abcdefghij", width: 4) == ["abcd", "efgh", "ij"])
        #expect(TextLayout.wrap("a\n\nb", width: 4) == ["a", "", "b"])
    }

    @Test func mixedLanguageWrap() {
        let lines = TextLayout.wrap("统一社会信用代码 91350100M000100Y43 已验证", width: 20)
        for line in lines { #expect(DisplayWidth.of(line) <= 20) }
        #expect(lines.contains { $0.contains("91350100M000100Y43") })
    }

    @Test func truncateAndPadCountColumns() {
        #expect(TextLayout.truncate("营业执照打印服务", width: 7) == "营业执…")
        #expect(DisplayWidth.of(TextLayout.pad("汉字", width: 7)) == 7)
        #expect(TextLayout.pad("汉字", width: 6, alignment: .right) == "  汉字")
        #expect(TextLayout.pad("abc", width: 2) == "a…")
    }

    @Test func tableColumnsAlignWithWideText() {
        let lines = TextLayout.table(header: ["名称", "状态"], rows: [["测试科技有限公司", "存续"], ["ABC Ltd", "注销"]], width: 40)
        let widths = Set(lines.map { DisplayWidth.of($0) })
        #expect(widths.count == 1)
        #expect(lines[2].hasPrefix("测试科技有限公司  存续"))
    }
}

@Suite struct KeyDecoderTests {
    @Test func arrowsEnterDigitsAndBackspace() {
        var decoder = KeyDecoder()
        let keys = decoder.feed(Array("\u{1B}[A\u{1B}[B\u{1B}OC\r7\u{7F}".utf8))
        #expect(keys == [.up, .down, .right, .enter, .character("7"), .backspace])
        #expect(!decoder.isWaiting)
    }

    @Test func sequencesSplitAcrossReads() {
        var decoder = KeyDecoder()
        #expect(decoder.feed([0x1B]) == [])
        #expect(decoder.isWaiting)
        #expect(decoder.feed([UInt8(ascii: "[")]) == [])
        #expect(decoder.feed([UInt8(ascii: "D")]) == [.left])
    }

    @Test func loneEscapeNeedsFlush() {
        var decoder = KeyDecoder()
        #expect(decoder.feed([0x1B]) == [])
        #expect(decoder.flush() == [.escape])
        #expect(decoder.feed([0x1B, UInt8(ascii: "e")]) == [.escape, .character("e")])
    }

    @Test func utf8TextAndPageKeys() {
        var decoder = KeyDecoder()
        #expect(decoder.feed(Array("测".utf8).prefix(2)) == [])
        #expect(decoder.feed(Array("测".utf8).suffix(1)) == [.character("测")])
        #expect(decoder.feed(Array("\u{1B}[5~\u{1B}[6~\u{1B}[3~".utf8)) == [.pageUp, .pageDown, .delete])
        #expect(decoder.feed([0x03]) == [.control("c")])
    }

    /// What the Linux console (TERM=linux) and foot/xterm send for the keys the kiosk uses, fed
    /// whole and byte by byte.
    @Test func functionAndEditingKeysOfTheLinuxConsoleAndFoot() {
        let sequences: [(String, Key)] = [
            // Linux console
            ("\u{1B}[[A", .function(1)), ("\u{1B}[[B", .function(2)), ("\u{1B}[[E", .function(5)),
            ("\u{1B}[17~", .function(6)), ("\u{1B}[24~", .function(12)),
            ("\u{1B}[1~", .home), ("\u{1B}[4~", .end), ("\u{1B}[A", .up), ("\u{1B}[D", .left),
            // xterm / foot
            ("\u{1B}OP", .function(1)), ("\u{1B}OQ", .function(2)), ("\u{1B}[1;2Q", .function(2)), ("\u{1B}[15~", .function(5)),
            ("\u{1B}[H", .home), ("\u{1B}[F", .end), ("\u{1B}OH", .home), ("\u{1B}OF", .end), ("\u{1B}[5;5~", .pageUp),
        ]
        for (text, key) in sequences {
            var whole = KeyDecoder()
            #expect(whole.feed(Array(text.utf8)) == [key], "\(text.debugDescription)")
            var bytewise = KeyDecoder()
            let keys = Array(text.utf8).flatMap { bytewise.feed([$0]) }
            #expect(keys == [key], "\(text.debugDescription) byte by byte")
        }
        var decoder = KeyDecoder()
        #expect(decoder.feed(Array("\u{1B}[[Z".utf8)) == [], "an unknown console key is dropped")
        #expect(decoder.feed(Array("a".utf8)) == [.character("a")])
    }

    /// Every key sequence the kiosk knows, UTF-8 text and control keys in one stream: the same
    /// keys whether the terminal's bytes come whole, one at a time, or cut anywhere.
    @Test func theSameKeysHoweverTheBytesAreCut() throws {
        let text = "\u{1B}[[A\u{1B}[[E\u{1B}[17~\u{1B}[24~\u{1B}[1~\u{1B}[4~\u{1B}[A\u{1B}[D\u{1B}OP\u{1B}[1;2Q\u{1B}[15~"
            + "\u{1B}[H\u{1B}[F\u{1B}OH\u{1B}OF\u{1B}[5;5~\u{1B}[5~\u{1B}[6~\u{1B}[3~张三，营业执照😀é\r7\u{7F}\t\u{03}"
            + "\u{1B}[[Zq\u{1B}e\u{1B}"
        let keys = try DecoderVerifier.verify(Array(text.utf8), randomSplits: 300, make: { KeyDecoder() },
                                              feed: { decoder, chunk in decoder.feed(chunk) }, finish: { decoder in decoder.flush() })
        #expect(keys.prefix(4) == [.function(1), .function(5), .function(6), .function(12)])
        #expect(keys.contains(.character("营")) && keys.contains(.character("😀")) && keys.contains(.control("c")))
        #expect(keys.suffix(3) == [.escape, .character("e"), .escape], "\(keys.suffix(3))")
    }

    @Test func garbageNeverStalls() {
        var decoder = KeyDecoder()
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let bytes = (0..<Int.random(in: 1...20, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            _ = decoder.feed(bytes)
        }
        _ = decoder.flush()
        #expect(!decoder.isWaiting)
        #expect(decoder.feed(Array("1".utf8)) == [.character("1")])
    }
}

@Suite struct ScreenBufferTests {
    @Test func wideCharactersTakeTwoCells() {
        var screen = ScreenBuffer(width: 10, height: 2, useStyles: false)
        let end = screen.put("汉字ab", x: 0, y: 0)
        #expect(end == 6)
        #expect(screen.rowText(0) == "汉字ab    ")
        // A wide character that would cross the right edge is not drawn.
        screen.put("一二三四五六", x: 1, y: 1)
        #expect(DisplayWidth.of(screen.rowText(1)) == 10)
        #expect(screen.rowText(1) == " 一二三四 ")
    }

    @Test func overwritingHalfAWideCharacterBlanksTheOtherHalf() {
        var screen = ScreenBuffer(width: 6, height: 1, useStyles: false)
        screen.put("汉字", x: 0, y: 0)
        screen.put("x", x: 1, y: 0)
        #expect(screen.rowText(0) == " x字  ")
    }

    @Test func renderSendsOnlyChanges() {
        var screen = ScreenBuffer(width: 20, height: 3, useStyles: false)
        screen.put("请放身份证", x: 0, y: 0)
        let first = screen.render()
        #expect(first.contains("请放身份证"))
        let unchanged = screen.render()
        #expect(unchanged.isEmpty)
        screen.put("好", x: 0, y: 2)
        let second = screen.render()
        #expect(second == "\u{1B}[3;1H好")
    }
}

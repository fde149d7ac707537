import Foundation
import KioskInput
import KioskTerminal
import KioskUI
import Testing

/// The citizen's pinyin input on the real librime with Debian's luna-pinyin data.
@Suite(.serialized) struct RimePinyinTests {
    static let userData = NSTemporaryDirectory() + "yitiji-rime-tests-\(getpid())"

    func pinyin() throws -> RimePinyin { try RimePinyin(userDataDirectory: Self.userData) }

    /// Types `keys` and answers what was committed.
    func type(_ input: RimePinyin, _ keys: [Key]) -> String {
        keys.map { input.feed($0).commit ?? "" }.joined()
    }

    func letters(_ text: String) -> [Key] { text.map { .character($0) } }

    @Test func pinyinBecomesSimplifiedChineseAndNumbersPickCandidates() throws {
        let input = try pinyin()
        #expect(type(input, letters("dongguanshi")) == "")
        let composing = try #require(input.composition)
        #expect(composing.preedit == "dong guan shi", "\(composing)")
        #expect(composing.candidates.first == "东莞市", "\(composing.candidates)")
        #expect(type(input, [.character("1")]) == "东莞市")
        #expect(input.composition == nil)
        #expect(type(input, letters("ruanjiankaifa") + [.character(" ")]) == "软件开发")
        // The second candidate by its number.
        _ = type(input, letters("dongguan"))
        let second = try #require(input.composition?.candidates.dropFirst().first)
        #expect(type(input, [.character("2")]) == second)
    }

    @Test func pagingEditingAndCancelling() throws {
        let input = try pinyin()
        _ = type(input, letters("shi"))
        let first = try #require(input.composition)
        #expect(first.page == 0 && first.hasMore && first.candidates.count == 5)
        _ = type(input, [.character("=")])
        #expect(input.composition?.page == 1 && input.composition?.candidates != first.candidates)
        _ = type(input, [.character("-")])
        #expect(input.composition?.candidates == first.candidates)
        // Backspace edits the spelling, Escape drops it, Enter commits the letters as typed.
        _ = type(input, letters("j") + [.backspace])
        #expect(input.composition?.preedit == "shi")
        _ = type(input, [.escape])
        #expect(input.composition == nil)
        #expect(type(input, letters("abc") + [.enter]) == "abc")
        // While composing, keys the field would take are held back.
        _ = type(input, letters("zhong"))
        #expect(input.feed(.tab).consumed && input.feed(.character("A")).consumed)
        input.reset()
        #expect(input.composition == nil)
    }

    @Test func latinCapitalsDigitsAndOtherKeysPassThrough() throws {
        let input = try pinyin()
        for key: Key in [.character("A"), .character("7"), .character(" "), .character("-"), .character("东"), .backspace, .enter, .tab, .up] {
            #expect(input.feed(key) == .passed, "\(key)")
        }
    }

    @Test func nothingTypedIsKeptOnDisk() throws {
        let input = try pinyin()
        #expect(type(input, letters("zhangsan") + [.character("1")]).isEmpty == false)
        _ = type(input, letters("dongguanshi") + [.character("1")])
        let files = FileManager.default.enumerator(atPath: Self.userData)?.compactMap { $0 as? String } ?? []
        #expect(!files.contains { $0.contains("userdb") || $0.hasSuffix(".userdb.txt") }, "\(files)")
        for file in files {
            let data = FileManager.default.contents(atPath: Self.userData + "/" + file) ?? Data()
            #expect(data.range(of: Data("东莞市".utf8)) == nil && data.range(of: Data("dongguanshi".utf8)) == nil, "\(file)")
        }
    }

    @Test func dataWithoutThePreludeOrTheEssayIsRefused() throws {
        // Without default.yaml librime would fall back to the schema's defaults and keep a user
        // dictionary of what was typed; the input method does not start on such data.
        let shared = NSTemporaryDirectory() + "yitiji-rime-partial-\(getpid())"
        try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: shared) }
        let schema = "/\(RimePinyin.schema).schema.yaml"
        try FileManager.default.copyItem(atPath: RimePinyin.defaultSharedData + schema, toPath: shared + schema)
        #expect(throws: PinyinInputError.dataMissing(shared + "/default.yaml")) {
            _ = try RimePinyin(sharedDataDirectory: shared, userDataDirectory: Self.userData)
        }
        try FileManager.default.copyItem(atPath: RimePinyin.defaultSharedData + "/default.yaml", toPath: shared + "/default.yaml")
        #expect(throws: PinyinInputError.dataMissing(shared + "/essay.txt")) {
            _ = try RimePinyin(sharedDataDirectory: shared, userDataDirectory: Self.userData)
        }
        #expect(PinyinInputError.dataMissing(shared).description.contains("rime-prelude rime-essay"))
    }
}

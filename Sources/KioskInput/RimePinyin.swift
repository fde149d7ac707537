import CRime
import Foundation
import KioskCore
import KioskTerminal
import KioskUI

/// Why the pinyin input could not start.
public enum PinyinInputError: Error, Equatable, CustomStringConvertible {
    /// The RIME schema data is not installed.
    case dataMissing(String)
    /// The engine refused to start or to select the schema.
    case engine(String)

    public var description: String {
        switch self {
        case let .dataMissing(path): return "no RIME data at \(path): apt-get install rime-data-luna-pinyin rime-prelude rime-essay libopencc-data"
        case let .engine(why): return "the RIME engine did not start: \(why)"
        }
    }
}

/// The RIME engine, set up once per process (librime keeps global state).
final class RimeEngine: @unchecked Sendable {
    let api: UnsafeMutablePointer<RimeApi>
    let userDataDirectory: String

    /// The engine once started: librime is set up once per process.
    private static let started = Locked<RimeEngine?>(nil)

    private init(api: UnsafeMutablePointer<RimeApi>, userDataDirectory: String) {
        self.api = api
        self.userDataDirectory = userDataDirectory
    }

    /// The process's engine: started on first use with these directories, the same afterwards.
    static func shared(sharedData: String, userData: String) throws(PinyinInputError) -> RimeEngine {
        // Without the prelude's default.yaml the engine builds nothing and falls back to the schema's
        // defaults, user dictionary included: what a citizen typed would be learnt on disk. Without
        // the essay, sentences come out as rare characters.
        for file in [RimePinyin.schema + ".schema.yaml", "default.yaml", "essay.txt"]
        where !FileManager.default.fileExists(atPath: sharedData + "/" + file) {
            throw .dataMissing(sharedData + "/" + file)
        }
        return try started.withLock { started throws(PinyinInputError) -> RimeEngine in
            if let started { return started }
            let engine = try start(sharedData: sharedData, userData: userData)
            started = engine
            return engine
        }
    }

    /// Sets librime up with these directories (once per process: under `started`'s lock).
    private static func start(sharedData: String, userData: String) throws(PinyinInputError) -> RimeEngine {
        do {
            try FileManager.default.createDirectory(atPath: userData, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            // Nothing a citizen types is learnt or kept: no user dictionary.
            try """
            patch:
              "translator/enable_user_dict": false
              "menu/page_size": 5
            """.write(toFile: userData + "/\(RimePinyin.schema).custom.yaml", atomically: true, encoding: .utf8)
            try """
            patch:
              schema_list:
                - schema: \(RimePinyin.schema)
            """.write(toFile: userData + "/default.custom.yaml", atomically: true, encoding: .utf8)
        } catch {
            throw .engine("cannot prepare \(userData): \(error)")
        }
        guard let api = rime_get_api() else { throw .engine("rime_get_api returned nothing") }
        var traits = RimeTraits()
        traits.data_size = Int32(MemoryLayout<RimeTraits>.size - MemoryLayout<Int32>.size)
        // The engine keeps these pointers: they live as long as the process.
        traits.shared_data_dir = UnsafePointer(strdup(sharedData))
        traits.user_data_dir = UnsafePointer(strdup(userData))
        traits.log_dir = UnsafePointer(strdup(userData))
        traits.distribution_name = UnsafePointer(strdup("Yitiji"))
        traits.distribution_code_name = UnsafePointer(strdup("yitiji"))
        traits.distribution_version = UnsafePointer(strdup("1"))
        traits.app_name = UnsafePointer(strdup("rime.yitiji"))
        traits.min_log_level = 3  // fatal only: nothing typed reaches a log
        guard let setup = api.pointee.setup, let initialize = api.pointee.initialize else { throw .engine("the API lacks setup") }
        setup(&traits)
        initialize(&traits)
        if let maintain = api.pointee.start_maintenance, maintain(1) != 0 { api.pointee.join_maintenance_thread?() }
        return RimeEngine(api: api, userDataDirectory: userData)
    }
}

/// Pinyin input on librime with the luna-pinyin schema in its simplified form: type pinyin, pick
/// one of the numbered candidates with a digit or space, page with `-` and `=`. Nothing typed is
/// learnt or written to disk (the schema's user dictionary is off).
public final class RimePinyin: InputMethod, Sendable {
    /// Debian's RIME data.
    public static let defaultSharedData = "/usr/share/rime-data"
    /// The schema: luna pinyin with simplified output.
    public static let schema = "luna_pinyin_simp"

    private let engine: RimeEngine
    private let session: RimeSessionId
    /// The composition on screen; its lock also keeps calls on the RIME session one at a time.
    private let current = Locked<Composition?>(nil)

    /// Starts a session. `userDataDirectory` holds the engine's compiled schema (never what is
    /// typed); the first instance of a process sets it for all.
    public init(sharedDataDirectory: String = RimePinyin.defaultSharedData, userDataDirectory: String) throws(PinyinInputError) {
        engine = try RimeEngine.shared(sharedData: sharedDataDirectory, userData: userDataDirectory)
        guard let create = engine.api.pointee.create_session else { throw .engine("the API lacks create_session") }
        session = create()
        guard session != 0 else { throw .engine("no session") }
        let selected = Self.schema.withCString { engine.api.pointee.select_schema?(session, $0) ?? 0 }
        guard selected != 0 else { throw .engine("schema \(Self.schema) could not be selected") }
        _ = "zh_simp".withCString { engine.api.pointee.set_option?(session, $0, 1) }
    }

    deinit {
        _ = engine.api.pointee.destroy_session?(session)
    }

    public var composition: Composition? { current.withLock { $0 } }

    public func reset() {
        current.withLock { current in
            engine.api.pointee.clear_composition?(session)
            current = nil
        }
    }

    public func feed(_ key: Key) -> InputMethodResult {
        current.withLock { current in
            let composing = current != nil
            let code: Int32
            switch key {
            case .character(let c) where c.isASCII && c.isLowercase && c.isLetter:
                code = Int32(c.asciiValue ?? 0)
            case .character(let c) where composing && (c.isNumber || c == " " || c == "'"):
                code = Int32(c.asciiValue ?? 0)
            case .character("-") where composing: code = 0xff55       // Page_Up
            case .character("=") where composing: code = 0xff56       // Page_Down
            case .backspace where composing: code = 0xff08
            case .escape where composing: code = 0xff1b
            case .enter where composing: code = 0xff0d
            case .up where composing: code = 0xff52
            case .down where composing: code = 0xff54
            default:
                // While composing every other key is swallowed, so that it cannot edit the field
                // under a half-typed syllable; otherwise the field has it.
                return composing ? InputMethodResult(consumed: true) : .passed
            }
            _ = engine.api.pointee.process_key?(session, code, 0)
            let commit = takeCommit()
            current = readComposition()
            return InputMethodResult(consumed: true, commit: commit)
        }
    }

    private func takeCommit() -> String? {
        var commit = RimeCommit()
        commit.data_size = Int32(MemoryLayout<RimeCommit>.size - MemoryLayout<Int32>.size)
        guard engine.api.pointee.get_commit?(session, &commit) ?? 0 != 0 else { return nil }
        defer { _ = engine.api.pointee.free_commit?(&commit) }
        return commit.text.map { String(cString: $0) }
    }

    private func readComposition() -> Composition? {
        var context = RimeContext()
        context.data_size = Int32(MemoryLayout<RimeContext>.size - MemoryLayout<Int32>.size)
        guard engine.api.pointee.get_context?(session, &context) ?? 0 != 0 else { return nil }
        defer { _ = engine.api.pointee.free_context?(&context) }
        guard context.composition.length > 0 else { return nil }
        let preedit = context.composition.preedit.map { String(cString: $0) } ?? ""
        var candidates: [String] = []
        if let list = context.menu.candidates {
            for index in 0..<Int(max(0, context.menu.num_candidates)) {
                if let text = list[index].text { candidates.append(String(cString: text)) }
            }
        }
        return Composition(preedit: preedit, candidates: candidates, page: Int(context.menu.page_no),
                           hasMore: context.menu.is_last_page == 0)
    }
}

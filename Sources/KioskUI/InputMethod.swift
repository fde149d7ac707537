import KioskTerminal

/// What an input method shows while the citizen composes: the spelled syllables and one page of
/// numbered candidates.
public struct Composition: Equatable, Sendable {
    /// The input so far as the engine spells it, e.g. `dong guan shi`.
    public var preedit: String
    /// The candidates of the current page, in order (picked with 1, 2, …).
    public var candidates: [String]
    /// The page shown, from 0.
    public var page: Int
    /// Whether a later page exists.
    public var hasMore: Bool

    public init(preedit: String, candidates: [String], page: Int, hasMore: Bool) {
        self.preedit = preedit
        self.candidates = candidates
        self.page = page
        self.hasMore = hasMore
    }
}

/// What became of one key given to an input method.
public struct InputMethodResult: Equatable, Sendable {
    /// Whether the method used the key; when false the field takes it as usual.
    public var consumed: Bool
    /// Text to add to the field (a picked candidate, or raw letters on Enter).
    public var commit: String?

    public init(consumed: Bool, commit: String? = nil) {
        self.consumed = consumed
        self.commit = commit
    }

    /// The key is not for the method.
    public static let passed = InputMethodResult(consumed: false)
}

/// An input method for the interface's text fields (pinyin on the kiosk): lower-case letters
/// compose; while composing, digits and space pick a candidate, `-` and `=` page, Backspace
/// edits, Escape drops the composition and Enter commits the letters as typed. Anything else,
/// and everything while nothing is composed but letters, goes to the field unchanged.
public protocol InputMethod: AnyObject, Sendable {
    /// Feeds one key.
    func feed(_ key: Key) -> InputMethodResult
    /// What is being composed, or nil.
    var composition: Composition? { get }
    /// Drops any composition (leaving a field, ending a session).
    func reset()
}

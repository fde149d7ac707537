/// `texts.yaml`: every text the citizen sees, by key, in each language.
public struct InterfaceTexts: Codable, Sendable, Equatable {
    /// Texts by language code (`zh`, `en`), then by key.
    public var languages: [String: [String: String]]

    public init(from decoder: any Decoder) throws {
        languages = try decoder.singleValueContainer().decode([String: [String: String]].self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(languages)
    }

    /// The text for `key` in `language`, falling back to the first language, then to the key.
    public func text(_ key: String, language: String) -> String {
        languages[language]?[key] ?? languages["zh"]?[key] ?? key
    }

    func validate(in file: YAMLFile, required: [String]) throws(ConfigurationError) {
        for language in required {
            guard languages[language] != nil else {
                throw file.error(at: [language], "is missing: kiosk.yaml lists language '\(language)'")
            }
        }
        let allKeys = Set(languages.values.flatMap(\.keys))
        for language in required.sorted() {
            let texts = languages[language] ?? [:]
            if let missing = allKeys.subtracting(texts.keys).sorted().first {
                throw file.error(at: [language], "has no text for '\(missing)'")
            }
            if let empty = texts.first(where: { $0.value.trimmingCharacters(in: .whitespaces).isEmpty }) {
                throw file.error(at: [language, empty.key], "must not be empty")
            }
        }
    }
}

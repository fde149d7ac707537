/// `evaluation.yaml`: the 好差评 evaluation form, versioned.
public struct EvaluationForm: Codable, Sendable, Equatable {
    /// One of the five levels, 5 = 非常满意 … 1 = 非常不满意.
    public struct Level: Codable, Sendable, Equatable {
        public var value: Int
        public var label: ServiceCatalogue.LocalizedText
    }

    /// Form version; ratings carry it so the registry knows which form was shown.
    public var version: Int
    /// Exactly five levels, best first.
    public var levels: [Level]
    /// Levels at or below this need a reason (the two lowest by default).
    public var reasonRequiredAtOrBelow: Int
    /// Reasons offered for low ratings.
    public var reasons: [ServiceCatalogue.LocalizedText]

    func validate(in file: YAMLFile) throws(ConfigurationError) {
        guard version > 0 else { throw file.error(at: ["version"], "must be a positive whole number") }
        guard levels.map(\.value) == [5, 4, 3, 2, 1] else {
            throw file.error(at: ["levels"], "must list the five levels 5, 4, 3, 2, 1 in that order")
        }
        guard (1...3).contains(reasonRequiredAtOrBelow) else {
            throw file.error(at: ["reasonRequiredAtOrBelow"], "must be 1, 2 or 3")
        }
        guard !reasons.isEmpty else {
            throw file.error(at: ["reasons"], "must offer at least one reason for low ratings")
        }
    }
}

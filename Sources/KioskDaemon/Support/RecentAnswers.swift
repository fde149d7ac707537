import KioskCore

/// The answers to the latest requests, by request id, so a retried request gets the first answer
/// instead of doing its work twice. Holds at most `capacity` answers; the oldest go first.
final class RecentAnswers<Answer: Sendable>: Sendable {
    private let state = Locked<(answers: [String: Answer], order: [String])>(([:], []))
    let capacity: Int

    init(capacity: Int = 256) { self.capacity = capacity }

    /// The answer to `requestId`, if it is still remembered.
    subscript(requestId: String) -> Answer? { state.withLock { $0.answers[requestId] } }

    /// Remembers `answer` for `requestId`.
    func remember(_ answer: Answer, for requestId: String) {
        state.withLock { state in
            if state.answers.updateValue(answer, forKey: requestId) == nil { state.order.append(requestId) }
            while state.order.count > capacity { state.answers[state.order.removeFirst()] = nil }
        }
    }
}

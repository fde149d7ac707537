import Foundation
import Yams

/// Decodes one YAML file into a `Decodable` type, translating every failure into a
/// `ConfigurationError` that names the file, the line and the field.
struct YAMLFile {
    let name: String
    let text: String
    let root: Node

    init(name: String, contents: Data) throws(ConfigurationError) {
        self.name = name
        guard let text = String(data: contents, encoding: .utf8) else {
            throw ConfigurationError(file: name, message: "is not UTF-8 text")
        }
        self.text = text
        do {
            guard let node = try Yams.compose(yaml: text) else {
                throw ConfigurationError(file: name, message: "is empty")
            }
            root = node
        } catch let error as ConfigurationError {
            throw error
        } catch let error as YamlError {
            throw ConfigurationError(file: name, line: Self.line(of: error), message: "is not valid YAML: \(Self.summary(of: error))")
        } catch {
            throw ConfigurationError(file: name, message: "is not valid YAML: \(error)")
        }
    }

    init(url: URL, name: String) throws(ConfigurationError) {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ConfigurationError(file: name, message: "cannot be read: \(error.localizedDescription)")
        }
        try self.init(name: name, contents: data)
    }

    func decode<T: Decodable>(_ type: T.Type) throws(ConfigurationError) -> T {
        do {
            return try YAMLDecoder().decode(type, from: root)
        } catch let error as DecodingError {
            throw translate(error)
        } catch {
            throw ConfigurationError(file: name, message: "\(error)")
        }
    }

    /// The line of the node at a dotted path, e.g. `printers.a4`, for semantic errors.
    func line(of path: [String]) -> Int? {
        var node = root
        var best = root.mark?.line
        for key in path {
            guard let next = child(of: node, key) else { break }
            node = next
            best = node.mark?.line ?? best
        }
        return best
    }

    /// A semantic error at a dotted field path.
    func error(at path: [String], _ message: String) -> ConfigurationError {
        ConfigurationError(file: name, line: line(of: path), field: path.joined(separator: "."), message: message)
    }

    private func child(of node: Node, _ key: String) -> Node? {
        switch node {
        case .mapping:
            return node[key]
        case .sequence(let sequence):
            guard let index = Int(key), sequence.indices.contains(index) else { return nil }
            return sequence[index]
        default:
            return nil
        }
    }

    private func translate(_ error: DecodingError) -> ConfigurationError {
        func keys(_ path: [any CodingKey]) -> [String] {
            path.map { $0.intValue.map(String.init) ?? $0.stringValue }
        }
        switch error {
        case let .keyNotFound(key, context):
            let path = keys(context.codingPath)
            return ConfigurationError(file: name, line: line(of: path),
                                      field: (path + [key.stringValue]).joined(separator: "."),
                                      message: "is missing")
        case let .typeMismatch(type, context):
            let path = keys(context.codingPath)
            return self.error(at: path, "has the wrong type: expected \(Self.typeName(type))")
        case let .valueNotFound(type, context):
            let path = keys(context.codingPath)
            return self.error(at: path, "is empty: expected \(Self.typeName(type))")
        case let .dataCorrupted(context):
            let path = keys(context.codingPath)
            return self.error(at: path, context.debugDescription)
        @unknown default:
            return ConfigurationError(file: name, message: "\(error)")
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "text"
        case is Int.Type: return "a whole number"
        case is Double.Type: return "a number"
        case is Bool.Type: return "true or false"
        default:
            let text = String(describing: type)
            if text.hasPrefix("Array") { return "a list" }
            if text.hasPrefix("Dictionary") { return "a mapping" }
            return "a mapping (\(text))"
        }
    }

    private static func line(of error: YamlError) -> Int? {
        switch error {
        case let .scanner(_, _, mark, _), let .parser(_, _, mark, _), let .composer(_, _, mark, _):
            return mark.line
        default:
            return nil
        }
    }

    private static func summary(of error: YamlError) -> String {
        switch error {
        case let .scanner(_, problem, _, _), let .parser(_, problem, _, _), let .composer(_, problem, _, _):
            return problem
        default:
            return "\(error)"
        }
    }
}

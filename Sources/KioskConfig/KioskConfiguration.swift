import Foundation
import KioskCore

/// A kiosk's whole configuration, loaded from one directory and validated as a unit.
///
/// The directory holds `kiosk.yaml`, `services.yaml`, `evaluation.yaml` and `texts.yaml`
/// (templates and keys beside them are read by the modules that use them).
public struct KioskConfiguration: Sendable, Equatable {
    /// The directory it was loaded from.
    public var directory: URL
    public var settings: KioskSettings
    public var services: ServiceCatalogue
    public var evaluation: EvaluationForm
    public var texts: InterfaceTexts

    /// The files a configuration directory must hold.
    public static let files = ["kiosk.yaml", "services.yaml", "evaluation.yaml", "texts.yaml"]

    /// Loads and validates the configuration in `directory`.
    /// - Throws: `ConfigurationError` naming the file, line and field of the first problem.
    public static func load(from directory: URL) throws(ConfigurationError) -> KioskConfiguration {
        func file(_ name: String) throws(ConfigurationError) -> YAMLFile {
            try YAMLFile(url: directory.appendingPathComponent(name), name: name)
        }
        let kioskFile = try file("kiosk.yaml")
        let settings = try kioskFile.decode(KioskSettings.self)
        try settings.validate(in: kioskFile)
        if let ca = settings.registry.caPath(in: directory),
           !(String(data: FileManager.default.contents(atPath: ca) ?? Data(), encoding: .utf8) ?? "").contains("-----BEGIN CERTIFICATE-----") {
            throw kioskFile.error(at: ["registry", "caFile"], "\(ca) is missing or holds no PEM certificate")
        }

        let servicesFile = try file("services.yaml")
        let services = try servicesFile.decode(ServiceCatalogue.self)
        try services.validate(in: servicesFile)

        let evaluationFile = try file("evaluation.yaml")
        let evaluation = try evaluationFile.decode(EvaluationForm.self)
        try evaluation.validate(in: evaluationFile)

        let textsFile = try file("texts.yaml")
        let texts = try textsFile.decode(InterfaceTexts.self)
        try texts.validate(in: textsFile, required: settings.languages)

        return KioskConfiguration(directory: directory, settings: settings, services: services,
                                  evaluation: evaluation, texts: texts)
    }

    /// Decodes and validates one file of a configuration on its own (`kiosk.yaml`,
    /// `services.yaml`, `evaluation.yaml` or `texts.yaml`, the last against zh and en), as `load`
    /// does, without touching the disk. Throws the same error, naming file, line and field.
    public static func check(fileNamed name: String, contents: Data) throws(ConfigurationError) {
        let file = try YAMLFile(name: name, contents: contents)
        switch name {
        case "kiosk.yaml": try file.decode(KioskSettings.self).validate(in: file)
        case "services.yaml": try file.decode(ServiceCatalogue.self).validate(in: file)
        case "evaluation.yaml": try file.decode(EvaluationForm.self).validate(in: file)
        case "texts.yaml": try file.decode(InterfaceTexts.self).validate(in: file, required: ["zh", "en"])
        default: throw file.error(at: [], "is not a file of the configuration")
        }
    }

    /// Where the configuration is when none is named: `$YITIJI_CONFIG_DIR`, else `/etc/yitiji`
    /// when it holds a `kiosk.yaml`, else the embedded default `kiosk-config/` found beside the
    /// installed executable (`../share/yitiji/kiosk-config`) or in the source tree it was built from.
    public static func defaultDirectory(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        executable: URL = URL(fileURLWithPath: CommandLine.arguments.first ?? "/")
    ) -> URL {
        if let explicit = environment["YITIJI_CONFIG_DIR"], !explicit.isEmpty {
            return URL(fileURLWithPath: explicit)
        }
        let system = URL(fileURLWithPath: "/etc/yitiji")
        if FileManager.default.fileExists(atPath: system.appendingPathComponent("kiosk.yaml").path) {
            return system
        }
        return embeddedDirectory(executable: executable, environment: environment) ?? system
    }

    /// The embedded default configuration directory (`DataLocation`), if it is there.
    public static func embeddedDirectory(
        executable: URL = URL(fileURLWithPath: CommandLine.arguments.first ?? "/"),
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> URL? {
        guard let directory = DataLocation.url(.defaultConfiguration, environment: environment, executable: executable),
              FileManager.default.fileExists(atPath: directory.appendingPathComponent("kiosk.yaml").path) else { return nil }
        return directory
    }
}

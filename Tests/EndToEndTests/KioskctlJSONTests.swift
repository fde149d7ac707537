import Foundation
import TestSupport
import Testing

/// kioskctl's `--json` on the commands that report something: one JSON object on standard output,
/// `"ok": true` with the result, or `"ok": false` with the exit code and the reason.
@Suite(.serialized) struct KioskctlJSONTests {
    let kioskctl = BuiltProducts.path("kioskctl")

    func object(_ text: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    }

    @Test func renderVerifyMaintenanceAndValidateAnswerInJSON() throws {
        let dir = try TemporaryDirectory(prefix: "kioskctl-json")
        defer { dir.remove() }
        let pdf = dir.path + "/ticket.pdf"
        let rendered = try ProcessRunner.run(kioskctl, ["document", "render", "--kind", "queue-ticket", "--input",
                                                        BuiltProducts.repositoryPath("Tests/Fixtures/documents/queue-ticket.json"), "-o", pdf, "--json"],
                                             timeout: 60)
        var answer = object(rendered.stdout)
        #expect(rendered.status == 0 && answer["ok"] as? Bool == true && answer["kind"] as? String == "queue-ticket"
                && answer["pages"] as? Int == 1, "\(rendered.stdout) \(rendered.stderr)")

        let verified = try ProcessRunner.run(kioskctl, ["document", "verify", pdf, "--keys", BuiltProducts.repositoryPath("kiosk-config/keys"), "--json"],
                                             timeout: 60)
        answer = object(verified.stdout)
        #expect(verified.status == 0 && answer["verdict"] as? String == "genuine", "\(verified.stdout) \(verified.stderr)")
        #expect((answer["fields"] as? [String: String])?["number"] == "A023", "\(verified.stdout)")

        let notADocument = dir.path + "/plain.pdf"
        try Data("%PDF-1.4 nothing here".utf8).write(to: URL(fileURLWithPath: notADocument))
        let refused = try ProcessRunner.run(kioskctl, ["document", "verify", notADocument, "--json"], timeout: 60)
        answer = object(refused.stdout)
        #expect(refused.status == 1 && answer["ok"] as? Bool == false && answer["exitCode"] as? Int == 1
                && (answer["error"] as? String)?.contains("not genuine") == true, "\(refused.stdout)")

        // No kioskd here: the failure is JSON too, with the documented exit code.
        let maintenance = try ProcessRunner.run(kioskctl, ["maintenance", "on", "--reason", "replacing the toner", "--json",
                                                           "--runtime-dir", dir.path + "/no-run"], timeout: 60)
        answer = object(maintenance.stdout)
        #expect(maintenance.status == 2 && answer["ok"] as? Bool == false && (answer["error"] as? String)?.contains("not running") == true,
                "\(maintenance.stdout) \(maintenance.stderr)")

        let valid = try ProcessRunner.run(kioskctl, ["validate", "uscc", "91350100M000100Y43", "--json"], timeout: 60)
        #expect(valid.status == 0 && object(valid.stdout)["valid"] as? Bool == true, "\(valid.stdout)")
    }
}

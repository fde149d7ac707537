import Foundation
import TestSupport
import Testing

/// Both OpenAPI documents are valid OpenAPI 3.1, every operation has its own operationId and
/// every answer but 204 a schema (`scripts/check-openapi.py`, with openapi-spec-validator).
@Suite struct OpenAPIDocumentTests {
    @Test func bothDocumentsAreValidAndComplete() throws {
        let result = try ProcessRunner.run("/usr/bin/env", ["python3", BuiltProducts.repositoryPath("scripts/check-openapi.py"),
                                                            BuiltProducts.repositoryPath("openapi/local-api.yaml"),
                                                            BuiltProducts.repositoryPath("openapi/registry.yaml")], timeout: 120)
        #expect(result.status == 0, "\(result.stdout) \(result.stderr)")
        #expect(result.stdout.contains("2 document(s), 0 problem(s)"), "\(result.stdout)")
    }
}

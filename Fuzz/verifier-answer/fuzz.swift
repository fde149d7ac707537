import FuzzTargets

/// libFuzzer entry point for the `verifier-answer` target (built by scripts/fuzz.sh with -sanitize=fuzzer).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = start.map { Array(UnsafeBufferPointer(start: $0, count: count)) } ?? []
    FuzzTargets.verifierAnswer(bytes)
    return 0
}

import Foundation
import SignalBridgeFuzzing

// Built with `-sanitize=fuzzer,address` (README, "Hostile input"): libFuzzer calls `LLVMFuzzerTestOneInput` with
// each input and reports any crash, and any broken promise of the core, which this turns into one.

let harness = WebhookFuzzHarness()
/// A fixed clock, so that a crash found once reproduces from its input alone.
let now = Date(timeIntervalSince1970: 1_795_600_000)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    do {
        _ = try harness.run(bytes, now: now)
    } catch {
        fatalError("\(error)")
    }
    return 0
}

@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// SwiftPM links an executable's entry point under this name; it hands control to libFuzzer's driver.
@_cdecl("WebhookFuzzer_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    // Built before the first input, so that libFuzzer's leak check does not count the harness's one-time setup.
    _ = harness.configuration
    var count = argc
    var arguments = argv
    return runFuzzerDriver(&count, &arguments, fuzzOne)
}

import Foundation
import Logging
import SignalBridgeCore
import SignalBridgeServer
import Synchronization
import Testing

/// `logging.format: "json"`: one JSON object a line, whatever the message holds.
@Suite struct JSONLogHandlerTests {
    @Test func eachMessageIsOneJSONObjectOnOneLine() throws {
        let written = Mutex<[UInt8]>([])
        var logger = Logger(label: "signalbridge") { label in JSONLogHandler(label: label) { bytes in written.withLock { $0 += bytes } } }
        logger.logLevel = .debug
        logger[metadataKey: "run"] = "1"
        logger.debug("below info")
        logger.warning("a \"quoted\"\nmessage", metadata: ["file": "journal-000001.jsonl", "list": ["a", "b"], "nested": ["k": "v"]])
        logger.trace("not logged")
        let text = String(decoding: written.withLock { $0 }, as: UTF8.self)
        let lines = text.split(separator: "\n")
        #expect(lines.count == 2 && text.hasSuffix("\n"))
        let objects = try lines.map { try #require(try JSONParser.parse(String($0)).objectValue) }
        #expect(objects[0]["level"] == "debug" && objects[0]["message"] == "below info" && objects[0]["label"] == "signalbridge")
        #expect(objects[1]["level"] == "warning" && objects[1]["message"] == "a \"quoted\"\nmessage")
        #expect(objects[1]["ts"]?.stringValue.flatMap(Timestamp.parse) != nil)
        #expect(
            objects[1]["metadata"]
                == .object(
                    JSONObject([
                        ("file", "journal-000001.jsonl"), ("list", ["a", "b"]), ("nested", .object(JSONObject([("k", "v")]))), ("run", "1"),
                    ])
                )
        )
    }

    @Test func theFormatIsReadFromTheConfiguration() throws {
        let base = URL(fileURLWithPath: "/etc/signalbridge")
        let json = try BridgeConfiguration.parse(try JSONParser.parse(#"{"logging": {"format": "json"}}"#), baseDirectory: base, environment: [:])
        #expect(json.logFormat == .json)
        #expect(try BridgeConfiguration.parse(try JSONParser.parse(#"{}"#), baseDirectory: base, environment: [:]).logFormat == .text)
        do {
            _ = try BridgeConfiguration.parse(try JSONParser.parse(#"{"logging": {"format": "xml"}}"#), baseDirectory: base, environment: [:])
            Issue.record("expected an error")
        } catch let error as DocumentError {
            #expect(error.pointer.description == "/logging/format")
        }
    }
}
